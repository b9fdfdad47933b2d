package mailtemplate

import (
	"strconv"
	"strings"
	"time"
)

// Words writes d for people, in English, from its largest unit down,
// skipping zero units and dropping what is below a second: "1 minute",
// "10 minutes", "1 hour 30 minutes", "2 days", "45 seconds". A duration
// of less than a second, zero or negative, is "less than a second" (a
// code that lives that long is dead on arrival; the words stay true).
func Words(d time.Duration) string {
	if d < time.Second {
		return "less than a second"
	}
	units := []struct {
		size time.Duration
		one  string
	}{
		{24 * time.Hour, "day"},
		{time.Hour, "hour"},
		{time.Minute, "minute"},
		{time.Second, "second"},
	}
	var parts []string
	for _, u := range units {
		n := d / u.size
		d -= n * u.size
		switch {
		case n == 1:
			parts = append(parts, "1 "+u.one)
		case n > 1:
			parts = append(parts, strconv.FormatInt(int64(n), 10)+" "+u.one+"s")
		}
	}
	return strings.Join(parts, " ")
}

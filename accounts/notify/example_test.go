package notify_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"path/filepath"
	"time"

	"github.com/authgw/authgw/accounts/notify"
)

func ExampleNewFile() {
	dir, err := os.MkdirTemp("", "notify-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)

	n, err := notify.NewFile(notify.FileConfig{
		Dir:  filepath.Join(dir, "outbox"),
		From: "Example Login <login@example.com>",
		// A fixed clock and randomness make the output below stable;
		// leave both nil in production.
		Now:  func() time.Time { return time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC) },
		Rand: bytes.NewReader(bytes.Repeat([]byte{0xab}, 24)),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	err = n.Send(context.Background(), notify.Message{
		To:      "ann@example.com",
		Subject: "Ihr Anmeldecode",
		Text:    "Ihr Code lautet 493817.\nGrüße\n",
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	names, _ := filepath.Glob(filepath.Join(dir, "outbox", "*.eml"))
	for _, name := range names {
		fmt.Println(filepath.Base(name))
		f, _ := os.Open(name)
		msg, _ := mail.ReadMessage(f)
		for _, h := range []string{"From", "To", "Subject", "Date", "Message-Id", "Content-Type"} {
			fmt.Printf("%s: %s\n", h, msg.Header.Get(h))
		}
		body, _ := io.ReadAll(quotedprintable.NewReader(msg.Body))
		fmt.Printf("%q\n", body)
		f.Close()
	}
	// Output:
	// 1772600767000-abababababababab.eml
	// From: "Example Login" <login@example.com>
	// To: ann@example.com
	// Subject: Ihr Anmeldecode
	// Date: Wed, 04 Mar 2026 05:06:07 +0000
	// Message-Id: <abababababababababababababababab@example.com>
	// Content-Type: text/plain; charset=utf-8
	// "Ihr Code lautet 493817.\r\nGrüße\r\n"
}

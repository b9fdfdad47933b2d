package main

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// Settings of serve's log.
const (
	logFormatSetting = "log-format"
	logLevelSetting  = "log-level"
)

// newLogger makes serve's logger on w from --log-format and --log-level.
// The format is text (key=value, for a person at a terminal) unless
// json (one object a line, for a log pipeline); the level is info
// unless debug (also each refusal's reason: why a token or a client was
// refused), warn or error. A bad value is a usage error naming the
// setting.
func (s *serveCommand) newLogger(c *cli, w io.Writer) (*slog.Logger, error) {
	format, err := resolveSetting(c, &s.settings, logFormatSetting, "text", parseLogFormat)
	if err != nil {
		return nil, err
	}
	level, err := resolveSetting(c, &s.settings, logLevelSetting, slog.LevelInfo, parseLogLevel)
	if err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}

// parseLogFormat accepts text or json.
func parseLogFormat(v string) (string, error) {
	switch f := strings.ToLower(v); f {
	case "text", "json":
		return f, nil
	}
	return "", fmt.Errorf("want text or json, got %q", v)
}

// parseLogLevel accepts debug, info, warn or error.
func parseLogLevel(v string) (slog.Level, error) {
	switch strings.ToLower(v) {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("want debug, info, warn or error, got %q", v)
}

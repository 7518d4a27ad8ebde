package main

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/dsrdesk/dsrdesk/workflow"
)

// secretKey reads DSR_SECRET_KEY (hex or base64 of at least 32 bytes),
// the key that seals the live links of stored mail. It is required when
// DSR_BASE_URL is https (a production server: a lost key means queued mail
// cannot be delivered, a missing one that every restart loses it); without
// it a development server gets a random key for this run and a warning.
// Errors: a malformed key, or none with an https base URL.
func secretKey(logger *slog.Logger) ([]byte, error) {
	v := getenv("DSR_SECRET_KEY", "")
	if v == "" {
		if strings.HasPrefix(strings.ToLower(getenv("DSR_BASE_URL", "")), "https://") {
			return nil, fmt.Errorf("DSR_SECRET_KEY is required when DSR_BASE_URL is https: set it to 32 random bytes in hex or base64, e.g. `openssl rand -hex 32`")
		}
		logger.Warn("DSR_SECRET_KEY is not set: using a random key for this run only; mail recorded but not delivered before a restart will fail to send")
		return workflow.NewSecretKey(), nil
	}
	key, err := workflow.ParseSecretKey(v)
	if err != nil {
		return nil, fmt.Errorf("DSR_SECRET_KEY: %w", err)
	}
	return key, nil
}

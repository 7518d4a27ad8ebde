package main

import (
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"strings"
	"testing"
)

// A production server (https base URL) refuses to start without the key
// that seals stored mail, naming the variable; a malformed key is refused
// everywhere. (Not parallel: it sets environment variables.)
func TestServeRefusesHTTPSWithoutSecretKey(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	t.Setenv("DSR_CONFIG", "../../examples/eu-saas.json")
	// Should a check be missed, serve fails fast on this database instead
	// of serving.
	t.Setenv("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=1")
	for _, tc := range []struct {
		base, key, want string
	}{
		{"https://privacy.example.com", "", "DSR_SECRET_KEY is required when DSR_BASE_URL is https"},
		{"HTTPS://privacy.example.com", "", "DSR_SECRET_KEY is required"},
		{"http://localhost:8080", "not a key!", "DSR_SECRET_KEY: not hex or base64"},
		{"https://privacy.example.com", strings.Repeat("ab", 16), "DSR_SECRET_KEY: 16 bytes, need at least 32"},
	} {
		t.Setenv("DSR_BASE_URL", tc.base)
		t.Setenv("DSR_SECRET_KEY", tc.key)
		err := serve(context.Background(), logger)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("base %s key %q: %v, want %q", tc.base, tc.key, err, tc.want)
		}
	}
	// Hex and base64 of 32 bytes are accepted; without https an absent key
	// is replaced by a random one (with a warning).
	for _, key := range []string{strings.Repeat("0f", 32), base64.StdEncoding.EncodeToString(make([]byte, 32)), base64.RawURLEncoding.EncodeToString(make([]byte, 48))} {
		t.Setenv("DSR_BASE_URL", "https://privacy.example.com")
		t.Setenv("DSR_SECRET_KEY", key)
		if k, err := secretKey(logger); err != nil || len(k) < 32 {
			t.Errorf("key %q: %d bytes, %v", key, len(k), err)
		}
	}
	t.Setenv("DSR_BASE_URL", "http://localhost:8080")
	t.Setenv("DSR_SECRET_KEY", "")
	a, errA := secretKey(logger)
	b, errB := secretKey(logger)
	if errA != nil || errB != nil || len(a) != 32 || string(a) == string(b) {
		t.Errorf("ephemeral keys: %x %v / %x %v", a, errA, b, errB)
	}
}

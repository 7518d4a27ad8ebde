package notify

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/dsrdesk/dsrdesk/notify/smtptest"
)

func TestDefaultPorts(t *testing.T) {
	cases := map[string]string{
		"smtp://relay.example":       "relay.example:25",
		"smtp://relay.example:587":   "relay.example:587",
		"smtps://relay.example":      "relay.example:465",
		"smtps://[2001:db8::1]":      "[2001:db8::1]:465",
		"smtp://relay.example?helo=": "",
	}
	for raw, want := range cases {
		s, err := NewSender(raw)
		if want == "" {
			if err == nil {
				t.Errorf("NewSender(%q) succeeded", raw)
			}
			continue
		}
		if err != nil || s.addr != want || s.timeout != DefaultTimeout || s.helo != DefaultHelo {
			t.Errorf("NewSender(%q) = %+v, %v; want addr %s and defaults", raw, s, err, want)
		}
	}
}

func TestIsLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "LOCALHOST": true, "127.0.0.1": true, "127.1.2.3": true, "::1": true,
		"relay.example": false, "10.0.0.1": false, "localhost.evil.example": false, "": false,
	} {
		if got := isLoopback(host); got != want {
			t.Errorf("isLoopback(%q) = %v, want %v", host, got, want)
		}
	}
}

// TestAuthRefusedInPlaintext points a Sender whose host is not loopback at a
// plaintext relay (by rewriting the dial address) and expects it to keep the
// credentials to itself.
func TestAuthRefusedInPlaintext(t *testing.T) {
	srv := smtptest.StartWith(t, smtptest.Options{Username: "u", Password: "p"})
	s, err := NewSender("smtp://u:p@relay.example")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = srv.Addr
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = s.Send(ctx, "a@b.example", []string{"c@d.example"}, []byte("Subject: x\r\n\r\nx\r\n"))
	if !errors.Is(err, errTLSRequired) || Temporary(err) {
		t.Fatalf("err = %v, want permanent errTLSRequired", err)
	}
}

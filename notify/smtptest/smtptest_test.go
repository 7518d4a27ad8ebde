package smtptest_test

import (
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/dsrdesk/dsrdesk/notify/smtptest"
)

const msg = "From: a@b.example\r\nTo: c@d.example\r\nSubject: =?utf-8?q?=C3=9Cr=C3=BCn?=\r\n" +
	"Message-Id: <m1@b.example>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
	"Open https://x.example/a?b=1. Or (see http://y.example/p_(1)), then https://x.example/a?b=1!\r\n"

func deliver(t *testing.T, addr string) error {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.SendMail("a@b.example", []string{"c@d.example"}, strings.NewReader(msg))
}

func TestWaitForAndFailNext(t *testing.T) {
	srv := smtptest.Start(t)
	if !strings.HasPrefix(srv.URL(), "smtp://127.0.0.1:") {
		t.Fatalf("URL = %q", srv.URL())
	}
	srv.FailNext(2, 452, "full")
	for range 2 {
		if err := deliver(t, srv.Addr); err == nil || !strings.Contains(err.Error(), "452") {
			t.Fatalf("err = %v, want 452", err)
		}
	}
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			time.Sleep(20 * time.Millisecond)
			if err := deliver(t, srv.Addr); err != nil {
				t.Error(err)
			}
		})
	}
	got := srv.WaitFor(t, 3, 5*time.Second)
	wg.Wait()
	if len(got) != 3 || srv.Attempts() != 5 {
		t.Fatalf("got %d messages, %d attempts; want 3, 5", len(got), srv.Attempts())
	}
	r := got[0]
	if r.ParseErr != nil || r.Subject != "Ürün" || r.MessageID != "m1@b.example" || r.From != "a@b.example" ||
		!reflect.DeepEqual(r.To, []string{"c@d.example"}) || string(r.Raw) != msg {
		t.Errorf("received %+v", r)
	}
	want := []string{"https://x.example/a?b=1", "http://y.example/p_(1)", "https://x.example/a?b=1"}
	if links := r.Links(); !reflect.DeepEqual(links, want) {
		t.Errorf("Links = %q, want %q", links, want)
	}
}

func TestMessagesIsACopy(t *testing.T) {
	srv := smtptest.Start(t)
	if err := deliver(t, srv.Addr); err != nil {
		t.Fatal(err)
	}
	srv.WaitFor(t, 1, 5*time.Second)
	m := srv.Messages()
	m[0].From = "changed"
	if srv.Messages()[0].From != "a@b.example" {
		t.Error("Messages shares its slice with the server")
	}
}

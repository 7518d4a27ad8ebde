package main

import (
	"strings"
	"testing"

	"github.com/dsrdesk/dsrdesk/db/connector"
	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/notify/webhook"
)

func testSystems() []dsr.System {
	access := []dsr.Query{{Section: "customers", SQL: "SELECT * FROM customers WHERE email = :email"}}
	return []dsr.System{
		{Name: "crm", Connector: dsr.Connector{Type: dsr.ConnectorPostgres, Access: access}},
		{Name: "web-shop", Connector: dsr.Connector{Type: dsr.ConnectorMySQL, Access: access}},
		{Name: "newsletter", Connector: dsr.Connector{Type: dsr.ConnectorWebhook, URL: "https://newsletter.internal/dsr"}},
		{Name: "paper-archive", Connector: dsr.Connector{Type: dsr.ConnectorManual}},
	}
}

func TestOpenRunnersNamesMissingVariables(t *testing.T) {
	env := map[string]string{"DSR_SYSTEM_CRM_DSN": "postgres://u@127.0.0.1:5432/crm"}
	_, err := openRunners(testSystems(), func(k string) string { return env[k] })
	if err == nil {
		t.Fatal("no error with two variables missing")
	}
	for _, want := range []string{"DSR_SYSTEM_WEB_SHOP_DSN is not set", "DSR_SYSTEM_NEWSLETTER_SECRET is not set"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "CRM") || strings.Contains(err.Error(), "PAPER") {
		t.Errorf("error names a variable that is set or not needed: %v", err)
	}
}

func TestOpenRunnersBuildsOnePerAutomaticSystem(t *testing.T) {
	env := map[string]string{
		"DSR_SYSTEM_CRM_DSN":           "postgres://u@127.0.0.1:5432/crm",
		"DSR_SYSTEM_WEB_SHOP_DSN":      "root@tcp(127.0.0.1:3306)/shop",
		"DSR_SYSTEM_NEWSLETTER_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
	}
	runners, err := openRunners(testSystems(), func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	defer closeRunners(runners)
	if len(runners) != 3 {
		t.Fatalf("%d runners, want 3 (none for the manual system)", len(runners))
	}
	if _, ok := runners["crm"].(*connector.SQLRunner); !ok {
		t.Errorf("crm: %T", runners["crm"])
	}
	if _, ok := runners["web-shop"].(*connector.SQLRunner); !ok {
		t.Errorf("web-shop: %T", runners["web-shop"])
	}
	if _, ok := runners["newsletter"].(*webhook.Runner); !ok {
		t.Errorf("newsletter: %T", runners["newsletter"])
	}
	if _, ok := runners["paper-archive"]; ok {
		t.Error("a runner for the manual system")
	}
}

func TestOpenRunnersInvalidConnector(t *testing.T) {
	sys := []dsr.System{{Name: "crm", Connector: dsr.Connector{Type: dsr.ConnectorPostgres,
		Access: []dsr.Query{{SQL: "SELECT * FROM c WHERE e = :mail"}}}}}
	_, err := openRunners(sys, func(string) string { return "postgres://u@127.0.0.1/crm" })
	if err == nil || !strings.Contains(err.Error(), "unknown parameter :mail") {
		t.Fatalf("err = %v", err)
	}
}

package dsr_test

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/dsrdesk/dsrdesk/dsr"
)

func loadExampleConfig(t *testing.T, name string) *dsr.Config {
	t.Helper()
	c, err := dsr.LoadConfig("../examples/" + name)
	if err != nil {
		t.Fatalf("LoadConfig(%s): %v", name, err)
	}
	return c
}

// configJSON returns a minimal valid config, changed by edit.
func configJSON(t *testing.T, edit func(m map[string]any)) string {
	t.Helper()
	m := map[string]any{
		"organisation": map[string]any{"name": "Testorg B.V.", "contact_email": "privacy@testorg.example"},
		"time_zone":    "Europe/Amsterdam",
		"regimes":      []any{"gdpr", "uk_gdpr"},
		"jurisdictions": []any{
			map[string]any{"countries": []any{"GB"}, "regime": "uk_gdpr"},
			map[string]any{"countries": []any{"EEA"}, "regime": "gdpr"},
		},
		"promises": []any{map[string]any{"kind": "erasure", "days": 14}},
		"mail":     map[string]any{"from": "privacy@testorg.example"},
	}
	if edit != nil {
		edit(m)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func parseConfigString(s string) (*dsr.Config, error) {
	return dsr.ParseConfig(strings.NewReader(s))
}

func TestExampleConfigsLoad(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		file, name, zone string
	}{
		{"eu-saas.json", "Modelworks B.V.", "Europe/Amsterdam"},
		{"us-ccpa.json", "Ledgerline Inc.", "America/Los_Angeles"},
	} {
		c := loadExampleConfig(t, tt.file)
		if c.Organisation.Name != tt.name {
			t.Errorf("%s: organisation %q, want %q", tt.file, c.Organisation.Name, tt.name)
		}
		if got := c.Location().String(); got != tt.zone {
			t.Errorf("%s: Location %q, want %q", tt.file, got, tt.zone)
		}
		for _, k := range dsr.Kinds {
			if !c.OffersKind(k) {
				t.Errorf("%s: does not offer %s", tt.file, k)
			}
		}
	}
}

func TestLoadConfigMissingFile(t *testing.T) {
	t.Parallel()
	if _, err := dsr.LoadConfig("../examples/does-not-exist.json"); err == nil {
		t.Fatal("LoadConfig of a missing file succeeded")
	}
}

func TestRegimeFor(t *testing.T) {
	t.Parallel()
	dattoStyle, err := parseConfigString(configJSON(t, func(m map[string]any) {
		m["regimes"] = []any{"gdpr"}
		m["jurisdictions"] = []any{map[string]any{"countries": []any{"EEA"}, "regime": "gdpr"}}
		m["promises"] = []any{}
	}))
	if err != nil {
		t.Fatalf("Datto-style config: %v", err)
	}
	configs := map[string]*dsr.Config{
		"eu-saas": loadExampleConfig(t, "eu-saas.json"),
		"us-ccpa": loadExampleConfig(t, "us-ccpa.json"),
		"datto":   dattoStyle,
	}
	tests := []struct {
		config, country, state string
		want                   string // regime id; "" = EUNAVAILABLE
	}{
		{"eu-saas", "NL", "", "gdpr"},
		{"eu-saas", "nl", "", "gdpr"},
		{"eu-saas", "GB", "", "uk_gdpr"},
		{"eu-saas", "IS", "", "gdpr"}, // Iceland: EEA, not EU
		{"eu-saas", "NO", "", "gdpr"},
		{"eu-saas", "LI", "", "gdpr"},
		{"eu-saas", "JP", "", "gdpr"}, // default_regime
		{"eu-saas", "US", "CA", "gdpr"},
		{"us-ccpa", "US", "CA", "ccpa"},
		{"us-ccpa", "us", "ca", "ccpa"},
		{"us-ccpa", "US", "VA", "vcdpa"},
		{"us-ccpa", "US", "CO", "cpa"},
		{"us-ccpa", "US", "TX", "tdpsa"},
		{"us-ccpa", "US", "IA", "icdpa"},
		{"us-ccpa", "US", "MT", "mtcdpa"},
		{"us-ccpa", "US", "DE", "dpdpa"},
		{"us-ccpa", "US", "NJ", "njdpa"},
		{"us-ccpa", "US", "NE", "ndpa"},
		{"us-ccpa", "US", "NH", "nhpa"},
		{"us-ccpa", "US", "TN", "tipa"},
		{"us-ccpa", "US", "MN", "mncdpa"},
		{"us-ccpa", "US", "MD", "modpa"},
		{"us-ccpa", "US", "IN", "incdpa"},
		{"us-ccpa", "US", "KY", "kcdpa"},
		{"us-ccpa", "US", "RI", "ridtppa"},
		{"us-ccpa", "US", "FL", "fdbr"},
		{"us-ccpa", "US", "NY", ""},
		{"us-ccpa", "US", "", ""},
		{"us-ccpa", "GB", "", "uk_gdpr"},
		{"us-ccpa", "DE", "", "gdpr"},
		{"us-ccpa", "IS", "", "gdpr"},
		{"us-ccpa", "CH", "", ""}, // Switzerland is in neither EU nor EEA
		{"us-ccpa", "JP", "", ""},
		{"datto", "FR", "", "gdpr"},
		{"datto", "IS", "", "gdpr"},
		{"datto", "JP", "", ""},
		{"datto", "GB", "", ""},
		{"datto", "US", "CA", ""},
	}
	for _, tt := range tests {
		c := configs[tt.config]
		r, err := c.RegimeFor(tt.country, tt.state, dsr.NewDate(2026, 12, 1))
		if tt.want != "" {
			if err != nil {
				t.Errorf("%s: RegimeFor(%q, %q): %v", tt.config, tt.country, tt.state, err)
			} else if r.ID != tt.want {
				t.Errorf("%s: RegimeFor(%q, %q) = %s, want %s", tt.config, tt.country, tt.state, r.ID, tt.want)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: RegimeFor(%q, %q) = %s, want EUNAVAILABLE", tt.config, tt.country, tt.state, r.ID)
			continue
		}
		if code := dsr.ErrorCode(err); code != dsr.EUNAVAILABLE {
			t.Errorf("%s: RegimeFor(%q, %q): code %q, want %q", tt.config, tt.country, tt.state, code, dsr.EUNAVAILABLE)
		}
		msg := dsr.ErrorMessage(err)
		if !strings.Contains(msg, c.Organisation.Name) {
			t.Errorf("%s: RegimeFor(%q, %q): message %q does not name the organisation", tt.config, tt.country, tt.state, msg)
		}
		if !strings.Contains(msg, c.Organisation.ContactEmail) {
			t.Errorf("%s: RegimeFor(%q, %q): message %q does not give the contact address", tt.config, tt.country, tt.state, msg)
		}
	}
}

// A country code that validation accepts must also match requesters from
// that country: "UK" is the common spelling of GB.
func TestJurisdictionCountryAliases(t *testing.T) {
	t.Parallel()
	for _, alias := range []string{"UK"} {
		c, err := parseConfigString(configJSON(t, func(m map[string]any) {
			m["jurisdictions"] = []any{
				map[string]any{"countries": []any{alias}, "regime": "uk_gdpr"},
				map[string]any{"countries": []any{"EEA"}, "regime": "gdpr"},
			}
		}))
		if err != nil {
			if !strings.Contains(err.Error(), "jurisdictions[0].countries[0]") {
				t.Errorf("%q refused, but the error does not name the field: %v", alias, err)
			}
			continue
		}
		r, err := c.RegimeFor("GB", "", dsr.NewDate(2026, 12, 1))
		if err != nil || r.ID != "uk_gdpr" {
			t.Errorf("jurisdiction countries [%q] accepted, but RegimeFor(\"GB\") = %v, %v; want uk_gdpr", alias, r, err)
		}
	}
}

func TestPromiseFor(t *testing.T) {
	t.Parallel()
	eu := loadExampleConfig(t, "eu-saas.json")
	us := loadExampleConfig(t, "us-ccpa.json")
	tests := []struct {
		c      *dsr.Config
		kind   dsr.Kind
		regime string
		want   int
	}{
		{eu, dsr.KindErasure, "gdpr", 14},
		{eu, dsr.KindErasure, "uk_gdpr", 14},
		{eu, dsr.KindAccess, "gdpr", 0},
		{eu, dsr.KindAccess, "uk_gdpr", 0},
		{eu, dsr.KindErasure, "ccpa", 0}, // promise limited to gdpr, uk_gdpr
		{us, dsr.KindErasure, "ccpa", 0},
	}
	for _, tt := range tests {
		days, src := tt.c.PromiseFor(tt.kind, tt.regime)
		if days != tt.want {
			t.Errorf("%s: PromiseFor(%s, %s) = %d, want %d", tt.c.Organisation.Name, tt.kind, tt.regime, days, tt.want)
		}
		if days > 0 && src == "" {
			t.Errorf("%s: PromiseFor(%s, %s) has no source", tt.c.Organisation.Name, tt.kind, tt.regime)
		}
	}

	// The strictest of several promises wins; unrestricted promises apply
	// to every regime.
	c, err := parseConfigString(configJSON(t, func(m map[string]any) {
		m["promises"] = []any{
			map[string]any{"kind": "erasure", "days": 20, "source": "A"},
			map[string]any{"kind": "erasure", "days": 10, "regimes": []any{"uk-gdpr"}, "source": "B"},
			map[string]any{"kind": "erasure", "days": 30, "source": "C"},
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		regime string
		days   int
		src    string
	}{{"gdpr", 20, "A"}, {"uk_gdpr", 10, "B"}} {
		if days, src := c.PromiseFor(dsr.KindErasure, tt.regime); days != tt.days || src != tt.src {
			t.Errorf("PromiseFor(erasure, %s) = %d %q, want %d %q", tt.regime, days, src, tt.days, tt.src)
		}
	}
}

func TestConfigDeadlines(t *testing.T) {
	t.Parallel()
	eu := loadExampleConfig(t, "eu-saas.json")
	us := loadExampleConfig(t, "us-ccpa.json")
	tests := []struct {
		name                                   string
		c                                      *dsr.Config
		regime                                 string
		kind                                   dsr.Kind
		at                                     string
		received, ack, due, legal, policy, ext string
		calendar                               string
	}{
		{"eu erasure policy", eu, "gdpr", dsr.KindErasure, "2026-03-02T10:00:00Z",
			"2026-03-02", "", "2026-03-16", "2026-04-02", "2026-03-16", "2026-06-02", "NL"},
		{"eu erasure late evening UTC is next day in Amsterdam", eu, "gdpr", dsr.KindErasure, "2026-03-01T23:30:00Z",
			"2026-03-02", "", "2026-03-16", "2026-04-02", "2026-03-16", "2026-06-02", "NL"},
		{"eu access no policy", eu, "gdpr", dsr.KindAccess, "2026-03-02T10:00:00Z",
			"2026-03-02", "", "2026-04-02", "2026-04-02", "", "2026-06-02", "NL"},
		{"eu uk on the England calendar", eu, "uk_gdpr", dsr.KindAccess, "2026-01-30T12:00:00Z",
			"2026-01-30", "", "2026-03-02", "2026-03-02", "", "2026-04-30", "GB-ENG"},
		{"us ccpa in Los Angeles time", us, "ccpa", dsr.KindAccess, "2026-11-03T06:00:00Z",
			"2026-11-02", "2026-11-17", "2026-12-16", "2026-12-16", "", "2027-01-30", "US-CA"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := regimeForTest(t, tt.regime)
			at, err := time.Parse(time.RFC3339, tt.at)
			if err != nil {
				t.Fatal(err)
			}
			d, err := tt.c.Deadlines(r, tt.kind, at)
			if err != nil {
				t.Fatalf("Deadlines: %v", err)
			}
			for _, f := range []struct {
				field string
				got   dsr.Date
				want  string
			}{
				{"Received", d.Received, tt.received},
				{"AckDue", d.AckDue, tt.ack},
				{"Due", d.Due, tt.due},
				{"LegalDue", d.LegalDue, tt.legal},
				{"PolicyDue", d.PolicyDue, tt.policy},
				{"ExtendedDue", d.ExtendedDue, tt.ext},
			} {
				if f.got.String() != f.want {
					t.Errorf("%s = %q, want %q", f.field, f.got, f.want)
				}
			}
			if d.Calendar != tt.calendar {
				t.Errorf("Calendar = %q, want %q", d.Calendar, tt.calendar)
			}
		})
	}
}

func TestCalendarFor(t *testing.T) {
	t.Parallel()
	eu := loadExampleConfig(t, "eu-saas.json")
	us := loadExampleConfig(t, "us-ccpa.json")
	tests := []struct {
		c      *dsr.Config
		regime string
		want   string
	}{
		{eu, "gdpr", "NL"},
		{eu, "uk_gdpr", "GB-ENG"},
		{us, "ccpa", "US-CA"}, // regime_calendars: California counts in its own holidays
		{us, "vcdpa", "US"},   // the organisation calendar
		{us, "gdpr", "IE"},
		{us, "uk_gdpr", "GB-ENG"},
	}
	for _, tt := range tests {
		if got := tt.c.CalendarFor(regimeForTest(t, tt.regime)).Code; got != tt.want {
			t.Errorf("%s: CalendarFor(%s) = %s, want %s", tt.c.Organisation.Name, tt.regime, got, tt.want)
		}
	}
	// No organisation calendar: each regime's default.
	c, err := parseConfigString(configJSON(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"gdpr", "uk_gdpr"} {
		r := regimeForTest(t, id)
		if got := c.CalendarFor(r).Code; got != r.Calendar {
			t.Errorf("CalendarFor(%s) = %s, want the regime default %s", id, got, r.Calendar)
		}
	}
}

func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	c, err := parseConfigString(configJSON(t, func(m map[string]any) { delete(m, "time_zone") }))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Reminders.OfficerDaysBefore; !reflect.DeepEqual(got, []int{7, 3, 1, 0}) {
		t.Errorf("reminders = %v, want [7 3 1 0]", got)
	}
	v := c.Verification
	if v.LinkValidDays != 14 || v.ReminderAfterDays != 3 || v.ExpireAfterDays != 14 {
		t.Errorf("verification = %+v, want 14/3/14", v)
	}
	if c.Downloads.ValidDays != 14 {
		t.Errorf("downloads = %d, want 14", c.Downloads.ValidDays)
	}
	if c.Locale != "en" {
		t.Errorf("locale = %q, want en", c.Locale)
	}
	if c.Location() != time.UTC || c.TimeZone != "UTC" {
		t.Errorf("time zone = %q / %v, want UTC", c.TimeZone, c.Location())
	}
	if !reflect.DeepEqual(c.Kinds, dsr.Kinds) {
		t.Errorf("kinds = %v, want every kind", c.Kinds)
	}
	// Defaults do not override explicit values.
	c, err = parseConfigString(configJSON(t, func(m map[string]any) {
		m["reminders"] = map[string]any{"officer_days_before": []any{5}}
		m["verification"] = map[string]any{"link_valid_days": 7, "reminder_after_days": 2, "expire_after_days": 10}
		m["downloads"] = map[string]any{"valid_days": 30}
	}))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.Reminders.OfficerDaysBefore, []int{5}) || c.Verification.LinkValidDays != 7 ||
		c.Verification.ReminderAfterDays != 2 || c.Verification.ExpireAfterDays != 10 || c.Downloads.ValidDays != 30 {
		t.Errorf("explicit values overridden: %+v %+v %+v", c.Reminders, c.Verification, c.Downloads)
	}
}

func TestParseConfigInvalid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		json string
		want []string // substrings of the error text
	}{
		{"unknown top-level field", configJSON(t, func(m map[string]any) { m["promise"] = []any{} }),
			[]string{`"promise"`}},
		{"unknown regime in regimes", configJSON(t, func(m map[string]any) { m["regimes"] = []any{"gdpr", "uk_gdpr", "gdrp"} }),
			[]string{"regimes[2]", "gdrp", "uk_gdpr"}},
		{"no regimes", configJSON(t, func(m map[string]any) { m["regimes"] = []any{} }),
			[]string{"regimes"}},
		{"bad country", configJSON(t, func(m map[string]any) {
			m["jurisdictions"] = []any{map[string]any{"countries": []any{"XX"}, "regime": "gdpr"}}
		}), []string{"jurisdictions[0].countries[0]", "XX"}},
		{"bad country in second jurisdiction", configJSON(t, func(m map[string]any) {
			m["jurisdictions"] = []any{
				map[string]any{"countries": []any{"GB"}, "regime": "uk_gdpr"},
				map[string]any{"countries": []any{"EEA", "Netherlands"}, "regime": "gdpr"},
			}
		}), []string{"jurisdictions[1].countries[1]"}},
		{"bad state", configJSON(t, func(m map[string]any) {
			m["regimes"] = []any{"ccpa"}
			m["jurisdictions"] = []any{map[string]any{"countries": []any{"US"}, "states": []any{"CA", "XY"}, "regime": "ccpa"}}
			m["promises"] = []any{}
		}), []string{"jurisdictions[0].states[1]", "XY"}},
		{"jurisdiction regime not offered", configJSON(t, func(m map[string]any) {
			m["jurisdictions"] = []any{map[string]any{"countries": []any{"US"}, "regime": "ccpa"}}
		}), []string{"jurisdictions[0].regime"}},
		{"no places and no default", configJSON(t, func(m map[string]any) { m["jurisdictions"] = []any{} }),
			[]string{"jurisdictions"}},
		{"default regime not offered", configJSON(t, func(m map[string]any) { m["default_regime"] = "ccpa" }),
			[]string{"default_regime"}},
		{"promise with unknown kind", configJSON(t, func(m map[string]any) {
			m["promises"] = []any{map[string]any{"kind": "erase", "days": 14}}
		}), []string{"promises[0].kind", "erase", "erasure"}},
		{"promise days 0", configJSON(t, func(m map[string]any) {
			m["promises"] = []any{map[string]any{"kind": "erasure", "days": 0}}
		}), []string{"promises[0].days"}},
		{"promise days negative", configJSON(t, func(m map[string]any) {
			m["promises"] = []any{map[string]any{"kind": "erasure", "days": 14}, map[string]any{"kind": "access", "days": -3}}
		}), []string{"promises[1].days"}},
		{"promise for a regime not offered", configJSON(t, func(m map[string]any) {
			m["promises"] = []any{map[string]any{"kind": "erasure", "days": 14, "regimes": []any{"ccpa"}}}
		}), []string{"promises[0].regimes[0]"}},
		{"bad time zone", configJSON(t, func(m map[string]any) { m["time_zone"] = "Europe/Utrecht" }),
			[]string{"time_zone", "Europe/Utrecht"}},
		{"missing organisation name", configJSON(t, func(m map[string]any) {
			m["organisation"] = map[string]any{"contact_email": "privacy@testorg.example"}
		}), []string{"organisation.name"}},
		{"blank organisation name", configJSON(t, func(m map[string]any) {
			m["organisation"] = map[string]any{"name": "   ", "contact_email": "privacy@testorg.example"}
		}), []string{"organisation.name"}},
		{"bad contact email", configJSON(t, func(m map[string]any) {
			m["organisation"] = map[string]any{"name": "Testorg", "contact_email": "privacy at testorg"}
		}), []string{"organisation.contact_email"}},
		{"contact email with a display name", configJSON(t, func(m map[string]any) {
			m["organisation"] = map[string]any{"name": "Testorg", "contact_email": "Privacy <privacy@testorg.example>"}
		}), []string{"organisation.contact_email"}},
		{"bad mail.from", configJSON(t, func(m map[string]any) { m["mail"] = map[string]any{"from": ""} }),
			[]string{"mail.from"}},
		{"reminder after equals expiry", configJSON(t, func(m map[string]any) {
			m["verification"] = map[string]any{"reminder_after_days": 14, "expire_after_days": 14}
		}), []string{"verification.reminder_after_days"}},
		{"reminder after exceeds expiry", configJSON(t, func(m map[string]any) {
			m["verification"] = map[string]any{"reminder_after_days": 10, "expire_after_days": 5}
		}), []string{"verification.reminder_after_days"}},
		{"officer reminder out of range", configJSON(t, func(m map[string]any) {
			m["reminders"] = map[string]any{"officer_days_before": []any{7, -1}}
		}), []string{"reminders.officer_days_before[1]"}},
		{"unknown calendar", configJSON(t, func(m map[string]any) { m["calendar"] = "Atlantis" }),
			[]string{"calendar", "GB-ENG"}},
		{"regime_calendars with unknown calendar", configJSON(t, func(m map[string]any) {
			m["regime_calendars"] = map[string]any{"uk_gdpr": "GB-SCT"}
		}), []string{"regime_calendars.uk_gdpr", "GB-SCT", "GB-ENG"}},
		{"regime_calendars for a regime not offered", configJSON(t, func(m map[string]any) {
			m["regime_calendars"] = map[string]any{"ccpa": "US"}
		}), []string{"regime_calendars.ccpa"}},
		{"unknown locale", configJSON(t, func(m map[string]any) { m["locale"] = "nl" }),
			[]string{"locale"}},
		{"unknown kind offered", configJSON(t, func(m map[string]any) { m["kinds"] = []any{"access", "delete"} }),
			[]string{"kinds[1]"}},
		{"malformed JSON", `{"organisation": {"name": "X",}}`,
			[]string{"invalid JSON", "line 1"}},
		{"malformed JSON on line 3", "{\n  \"time_zone\": \"UTC\"\n  \"regimes\": []\n}",
			[]string{"invalid JSON", "line 3"}},
		{"days as a string", strings.Replace(configJSON(t, nil), `"days":14`, `"days":"14"`, 1),
			[]string{"days", "string"}},
		{"regimes as a string", configJSON(t, func(m map[string]any) { m["regimes"] = "gdpr" }),
			[]string{"regimes"}},
		{"trailing data", configJSON(t, nil) + ` {}`,
			[]string{"trailing"}},
		{"empty input", ``, []string{"config"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := parseConfigString(tt.json)
			if err == nil {
				t.Fatalf("ParseConfig succeeded (%+v), want an error containing %q", c, tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
	// The base of the cases above is valid, so each case fails for its own
	// reason only.
	if _, err := parseConfigString(configJSON(t, nil)); err != nil {
		t.Fatalf("base config: %v", err)
	}
}

// Every validation problem is reported at once, not only the first.
func TestParseConfigReportsEveryField(t *testing.T) {
	t.Parallel()
	_, err := parseConfigString(configJSON(t, func(m map[string]any) {
		m["time_zone"] = "Nowhere/Town"
		m["promises"] = []any{map[string]any{"kind": "erase", "days": 0}}
		m["organisation"] = map[string]any{"contact_email": "x"}
	}))
	if err == nil {
		t.Fatal("ParseConfig succeeded")
	}
	if code := dsr.ErrorCode(err); code != dsr.EINVALID {
		t.Errorf("code %q, want %q", code, dsr.EINVALID)
	}
	for _, f := range []string{"time_zone", "promises[0].kind", "promises[0].days", "organisation.name", "organisation.contact_email"} {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("error %q does not name %s", err, f)
		}
	}
}

func TestLoadConfigErrorNamesFile(t *testing.T) {
	t.Parallel()
	path := t.TempDir() + "/broken.json"
	if err := os.WriteFile(path, []byte(configJSON(t, func(m map[string]any) { m["time_zone"] = "Mars/Olympus" })), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := dsr.LoadConfig(path)
	if err == nil {
		t.Fatal("LoadConfig succeeded")
	}
	if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "time_zone") {
		t.Errorf("error %q does not name the file and the field", err)
	}
}

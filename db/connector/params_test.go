package connector

import (
	"errors"
	"strings"
	"testing"

	"github.com/dsrdesk/dsrdesk/dsr"
)

func TestCompileNamedParameters(t *testing.T) {
	for _, tc := range []struct {
		name   string
		d      dialect
		in     string
		text   string
		params []string
	}{
		{"pg simple", dialectPG,
			"select * from customers where email = :email",
			"select * from customers where email = $1", []string{"email"}},
		{"pg repeated name reuses $n", dialectPG,
			"select :email, :task_id, :email",
			"select $1, $2, $1", []string{"email", "task_id"}},
		{"pg literal untouched", dialectPG,
			"select ':email', 'it''s :email' where e = :email",
			"select ':email', 'it''s :email' where e = $1", []string{"email"}},
		{"pg cast", dialectPG,
			"select :email::text, created::date from t where h = :email_sha256::bytea",
			"select $1::text, created::date from t where h = $2::bytea", []string{"email", "email_sha256"}},
		{"pg quoted identifier", dialectPG,
			`select "a:email" from t where x = :request_id`,
			`select "a:email" from t where x = $1`, []string{"request_id"}},
		{"pg line comment", dialectPG,
			"select 1 -- :email here\nwhere e = :email",
			"select 1 -- :email here\nwhere e = $1", []string{"email"}},
		{"pg nested block comment", dialectPG,
			"select /* a /* :email */ :task_id */ :email",
			"select /* a /* :email */ :task_id */ $1", []string{"email"}},
		{"pg dollar quote", dialectPG,
			"select $fn$ :email $fn$, $$:task_id$$, :email",
			"select $fn$ :email $fn$, $$:task_id$$, $1", []string{"email"}},
		{"pg escape string", dialectPG,
			`select E'\' :email', :email`,
			`select E'\' :email', $1`, []string{"email"}},
		{"pg array slice is not a parameter", dialectPG,
			"select a[1:2] from t where e = :email",
			"select a[1:2] from t where e = $1", []string{"email"}},
		{"mysql placeholders", dialectMySQL,
			"select * from c where email = :email or alt = :email",
			"select * from c where email = ? or alt = ?", []string{"email", "email"}},
		{"mysql backslash in literal", dialectMySQL,
			`select 'a\' :email' , "b"" :email", :task_id`,
			`select 'a\' :email' , "b"" :email", ?`, []string{"task_id"}},
		{"mysql backtick and comments", dialectMySQL,
			"select `:email` # :email\n, :email -- :task_id\n/* :task_id */",
			"select `:email` # :email\n, ? -- :task_id\n/* :task_id */", []string{"email"}},
		{"mysql -- without space is not a comment", dialectMySQL,
			"select 1--:email",
			"select 1--?", []string{"email"}},
		{"mysql assignment", dialectMySQL,
			"set @a := :email",
			"set @a := ?", []string{"email"}},
		{"rectification field", dialectPG,
			"update c set name = :name where email = :email",
			"update c set name = $1 where email = $2", []string{"name", "email"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := compile(tc.in, tc.d)
			if err != nil {
				t.Fatal(err)
			}
			if st.Text != tc.text {
				t.Errorf("text\n got %q\nwant %q", st.Text, tc.text)
			}
			if strings.Join(st.Params, ",") != strings.Join(tc.params, ",") {
				t.Errorf("params = %v, want %v", st.Params, tc.params)
			}
		})
	}
}

func TestCompileRejects(t *testing.T) {
	for _, tc := range []struct {
		d    dialect
		in   string
		want string
	}{
		{dialectPG, "select 'open", "unterminated"},
		{dialectPG, "select /* open", "unterminated"},
		{dialectPG, "select $q$ open", "unterminated"},
		{dialectPG, "select * from t where a = $1", "positional"},
		{dialectMySQL, "select * from t where a = ?", "placeholder ?"},
		{dialectMySQL, "select `open", "unterminated"},
	} {
		if _, err := compile(tc.in, tc.d); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("compile(%q) = %v, want %q", tc.in, err, tc.want)
		}
	}
}

func TestNewRunnerUnknownParameter(t *testing.T) {
	sys := dsr.System{Name: "crm", Connector: dsr.Connector{Type: dsr.ConnectorPostgres,
		Access:        []dsr.Query{{Section: "customers", SQL: "select * from customers where email = :emial"}},
		Rectification: []dsr.Query{{SQL: "update customers set name = :name where email = :email"}},
	}}
	_, err := newRunner(sys, dialectPG)
	var de *dsr.Error
	if !errors.As(err, &de) || de.Code != dsr.EINVALID {
		t.Fatalf("err = %v, want EINVALID", err)
	}
	if msg := de.Fields["systems.crm.connector.access[0].sql"]; !strings.Contains(msg, "unknown parameter :emial") {
		t.Fatalf("fields = %v", de.Fields)
	}
	if len(de.Fields) != 1 {
		t.Fatalf("rectification's correction fields were rejected too: %v", de.Fields)
	}
	sys.Connector.Access[0].SQL = "select * from customers where email = :email"
	sys.Connector.StatementTimeout = "soon"
	sys.Connector.RowLimit = -1
	_, err = newRunner(sys, dialectPG)
	if !errors.As(err, &de) || de.Fields["systems.crm.connector.statement_timeout"] == "" || de.Fields["systems.crm.connector.row_limit"] == "" {
		t.Fatalf("err = %v, want statement_timeout and row_limit errors", err)
	}
}

func TestRectificationSkipsUncorrectedFields(t *testing.T) {
	qs := []query{}
	for i, s := range []string{
		"update c set name = :name where email = :email",
		"update c set phone = :phone where email = :email",
	} {
		st, err := compile(s, dialectPG)
		if err != nil {
			t.Fatal(err)
		}
		qs = append(qs, query{index: i, stmt: st})
	}
	keep, notes, err := rectification(qs, map[string]string{"name": "Ada", "city": "London"})
	if err != nil {
		t.Fatal(err)
	}
	if len(keep) != 1 || keep[0].index != 0 {
		t.Fatalf("kept %v, want statement 0 only", keep)
	}
	if j := strings.Join(notes, "; "); !strings.Contains(j, "statement 1 skipped: the correction has no phone") || !strings.Contains(j, "not applied by any statement: city") {
		t.Fatalf("notes = %q", j)
	}
	if _, _, err := rectification(qs, map[string]string{"city": "London"}); err == nil {
		t.Fatal("no error when no statement applies")
	}
}

func TestValidate(t *testing.T) {
	sys := dsr.System{Name: "shop", Connector: dsr.Connector{Type: dsr.ConnectorMySQL,
		Erasure: []dsr.Query{{SQL: "DELETE FROM accounts WHERE email = ?"}}}}
	var de *dsr.Error
	if err := Validate(sys); !errors.As(err, &de) || !strings.Contains(de.Fields["systems.shop.connector.erasure[0].sql"], "placeholder ?") {
		t.Fatalf("Validate = %v", err)
	}
	sys.Connector.Erasure[0].SQL = "DELETE FROM accounts WHERE email = :email"
	if err := Validate(sys); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	sys.Connector.Type = dsr.ConnectorWebhook
	if err := Validate(sys); err != nil {
		t.Fatalf("webhook: %v", err)
	}
}

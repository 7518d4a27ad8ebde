package dsr

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// DefaultTaskMarginDays is how many days before the request's effective
// due date a system's task is due when the system does not say.
const DefaultTaskMarginDays = 3

// systemName is the form of a system's name: it becomes part of
// environment variable names and of URLs.
var systemName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// EnvName is the prefix of the environment variables holding a system's
// secrets: "DSR_SYSTEM_" + the name upper-cased with '-' as '_'
// ("paper-archive" → "DSR_SYSTEM_PAPER_ARCHIVE"); add "_DSN" or "_SECRET".
func EnvName(name string) string {
	return "DSR_SYSTEM_" + strings.ReplaceAll(strings.ToUpper(name), "-", "_")
}

// SecretEnv is the environment variable that must hold the system's
// secret: the DSN of a postgres or mysql connector, the signing secret of
// a webhook; "" for a manual system, which needs none.
func (s System) SecretEnv() string {
	switch s.Connector.Type {
	case ConnectorPostgres, ConnectorMySQL:
		return EnvName(s.Name) + "_DSN"
	case ConnectorWebhook:
		return EnvName(s.Name) + "_SECRET"
	}
	return ""
}

// Margin is how many days before the request's due date the system's
// task is due.
func (s System) Margin() int {
	if s.MarginDays == nil {
		return DefaultTaskMarginDays
	}
	return *s.MarginDays
}

// Takes reports whether the system takes part in requests of kind k.
func (s System) Takes(k Kind) bool {
	for _, o := range s.Kinds {
		if o == k {
			return true
		}
	}
	return false
}

// Queries returns the SQL configured for kind k (portability falls back
// to access); nil for a kind a SQL connector has no list for.
func (c Connector) Queries(k Kind) []Query {
	switch k {
	case KindAccess:
		return c.Access
	case KindPortability:
		if len(c.Portability) == 0 {
			return c.Access
		}
		return c.Portability
	case KindErasure:
		return c.Erasure
	case KindRectification:
		return c.Rectification
	case KindOptOut:
		return c.OptOut
	case KindRestriction:
		return c.Restriction
	}
	return nil
}

// System returns the configured system named name.
func (c *Config) System(name string) (System, bool) {
	for _, s := range c.Systems {
		if s.Name == name {
			return s, true
		}
	}
	return System{}, false
}

// MissingSecrets lists the environment variables that the configured
// systems need and getenv does not give (empty values count as missing),
// in config order: serve refuses to start while any is missing.
func (c *Config) MissingSecrets(getenv func(string) string) []string {
	var out []string
	for _, s := range c.Systems {
		if v := s.SecretEnv(); v != "" && strings.TrimSpace(getenv(v)) == "" {
			out = append(out, v)
		}
	}
	return out
}

// sqlParams are the named parameters every SQL connector binds.
var sqlParams = map[string]bool{"email": true, "email_sha256": true, "request_id": true, "task_id": true}

// namedParams returns the :name parameters in a statement, skipping
// quoted text and PostgreSQL casts (::type).
func namedParams(sql string) []string {
	var out []string
	inQuote := byte(0)
	for i := 0; i < len(sql); i++ {
		ch := sql[i]
		switch {
		case inQuote != 0:
			if ch == inQuote {
				inQuote = 0
			}
		case ch == '\'' || ch == '"' || ch == '`':
			inQuote = ch
		case ch == ':' && i+1 < len(sql) && sql[i+1] == ':':
			i++ // a cast
		case ch == ':' && (i == 0 || sql[i-1] != ':'):
			j := i + 1
			for j < len(sql) && (sql[j] == '_' || sql[j] >= 'a' && sql[j] <= 'z' || sql[j] >= 'A' && sql[j] <= 'Z' || j > i+1 && sql[j] >= '0' && sql[j] <= '9') {
				j++
			}
			if j > i+1 {
				out = append(out, sql[i+1:j])
			}
			i = j - 1
		}
	}
	return out
}

// validateSystems checks the "systems" list: names unique and of the
// form [a-z0-9-], kinds offered, a known connector with what its type
// needs (an https URL, SQL for each kind, only known named parameters),
// an owner for manual systems, a margin of 0–90 days.
func (c *Config) validateSystems(add addFunc) {
	seen := map[string]bool{}
	for i, s := range c.Systems {
		f := fmt.Sprintf("systems[%d]", i)
		switch {
		case !systemName.MatchString(s.Name):
			add(f+".name", "%q must be lower-case letters, digits and '-' (at most 63)", s.Name)
		case seen[s.Name]:
			add(f+".name", "%q is used by another system", s.Name)
		}
		seen[s.Name] = true
		if s.OwnerEmail != "" && !validEmail(s.OwnerEmail) {
			add(f+".owner_email", "must be an email address")
		}
		if len(s.Kinds) == 0 {
			add(f+".kinds", "name at least one kind the system takes part in")
		}
		for k, kind := range s.Kinds {
			if _, err := ParseKind(string(kind)); err != nil {
				add(fmt.Sprintf("%s.kinds[%d]", f, k), "%s", ErrorMessage(err))
			} else if !c.OffersKind(kind) {
				add(fmt.Sprintf("%s.kinds[%d]", f, k), "%q is not in kinds", kind)
			}
		}
		if m := s.MarginDays; m != nil && (*m < 0 || *m > 90) {
			add(f+".margin_days", "must be between 0 and 90")
		}
		c.validateConnector(f, s, add)
	}
}

func (c *Config) validateConnector(f string, s System, add addFunc) {
	cn := s.Connector
	f += ".connector"
	switch cn.Type {
	case ConnectorManual:
		if !validEmail(s.OwnerEmail) {
			add(strings.TrimSuffix(f, ".connector")+".owner_email", "is required for a manual system (the task is mailed there)")
		}
	case ConnectorWebhook:
		if msg := webhookURLProblem(cn.URL); msg != "" {
			add(f+".url", "%s", msg)
		}
	case ConnectorPostgres, ConnectorMySQL:
		c.validateSQL(f, s, add)
	case "":
		add(f+".type", "is required (valid: webhook, postgres, mysql, manual)")
	default:
		add(f+".type", "unknown connector %q (valid: webhook, postgres, mysql, manual)", cn.Type)
	}
	if cn.Type != ConnectorWebhook && cn.URL != "" {
		add(f+".url", "is for webhook connectors only")
	}
}

// webhookURLProblem says what is wrong with a webhook URL, "" if nothing:
// it must be absolute https (http only to localhost, for tests and local
// relays).
func webhookURLProblem(raw string) string {
	if raw == "" {
		return "is required for a webhook connector"
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "must be an absolute URL such as https://crm.internal/dsr"
	}
	switch u.Scheme {
	case "https":
		return ""
	case "http":
		if h := u.Hostname(); h == "localhost" || h == "127.0.0.1" || h == "::1" {
			return ""
		}
	}
	return "must be https (http only to localhost or 127.0.0.1)"
}

func (c *Config) validateSQL(f string, s System, add addFunc) {
	cn := s.Connector
	lists := map[Kind][]Query{KindAccess: cn.Access, KindPortability: cn.Portability, KindErasure: cn.Erasure,
		KindRectification: cn.Rectification, KindOptOut: cn.OptOut, KindRestriction: cn.Restriction}
	for _, k := range s.Kinds {
		if k == KindObjection {
			add(f+".type", "a %s connector cannot take objection requests (use a webhook or manual system)", cn.Type)
			continue
		}
		if len(cn.Queries(k)) == 0 {
			add(f+"."+string(k), "at least one statement is required: the system takes %s requests", k)
		}
	}
	for _, k := range Kinds {
		for i, q := range lists[k] {
			qf := fmt.Sprintf("%s.%s[%d]", f, k, i)
			if strings.TrimSpace(q.SQL) == "" {
				add(qf+".sql", "is required")
				continue
			}
			if (k == KindAccess || k == KindPortability) && strings.TrimSpace(q.Section) == "" {
				add(qf+".section", "is required (it names the part of the export)")
			}
			for _, p := range namedParams(q.SQL) {
				if !sqlParams[p] && k != KindRectification {
					add(qf+".sql", "unknown parameter :%s (valid: :email, :email_sha256, :request_id, :task_id)", p)
				}
			}
		}
	}
	if cn.StatementTimeout != "" {
		if d, err := time.ParseDuration(cn.StatementTimeout); err != nil || d <= 0 || d > 10*time.Minute {
			add(f+".statement_timeout", "must be a duration such as 5s (at most 10m)")
		}
	}
	if cn.RowLimit < 0 {
		add(f+".row_limit", "must not be negative")
	}
}

package dsr_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/dsrdesk/dsrdesk/dsr"
)

var phcRE = regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)

func TestHashPassword(t *testing.T) {
	t.Parallel()
	const pw = "correct horse battery"
	h1, err := dsr.HashPassword(pw)
	if err != nil {
		t.Fatal(err)
	}
	if !phcRE.MatchString(h1) {
		t.Errorf("hash %q is not the expected PHC string", h1)
	}
	h2, err := dsr.HashPassword(pw)
	if err != nil {
		t.Fatal(err)
	}
	if h1 == h2 {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
	for _, h := range []string{h1, h2} {
		if !dsr.CheckPassword(h, pw) {
			t.Errorf("CheckPassword(%q, right password) = false", h)
		}
	}
}

func TestHashPasswordRejects(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		pw   string
		ok   bool
	}{
		{"empty", "", false},
		{"11 characters", "abcdefghijk", false},
		{"12 characters", "abcdefghijkl", true},
		{"11 multibyte characters (more than 12 bytes)", strings.Repeat("é", 11), false},
		{"12 multibyte characters", strings.Repeat("é", 12), true},
		{"too long", strings.Repeat("a", dsr.MaxPasswordLength+1), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h, err := dsr.HashPassword(tt.pw)
			if tt.ok {
				if err != nil || !dsr.CheckPassword(h, tt.pw) {
					t.Fatalf("HashPassword: %q, %v; want a hash that checks", h, err)
				}
				return
			}
			if dsr.ErrorCode(err) != dsr.EINVALID || h != "" {
				t.Fatalf("HashPassword = %q, %v; want an EINVALID error", h, err)
			}
			if !strings.Contains(dsr.ErrorMessage(err), "characters") && !strings.Contains(dsr.ErrorMessage(err), "bytes") {
				t.Errorf("message %q does not say what is wrong", dsr.ErrorMessage(err))
			}
		})
	}
}

func TestCheckPassword(t *testing.T) {
	t.Parallel()
	const pw = "s3cret-passphrase"
	good, err := dsr.HashPassword(pw)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, "$") // "", argon2id, v=19, params, salt, key
	join := func(p ...string) string { return strings.Join(p, "$") }
	with := func(i int, v string) string {
		p := append([]string{}, parts...)
		p[i] = v
		return join(p...)
	}
	// Hashes with other parameters (and a 24-byte key) still verify: the
	// parameters come from the string. Known answers of the argon2
	// reference implementation for "password" with salt "somesalt".
	const (
		ref1 = "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ$ZVrRXqxlLcWfcXCnMyv0m4Rpvh/bnCi7"
		ref4 = "$argon2id$v=19$m=4096,t=4,p=4$c29tZXNhbHQ$FF25czqfTuQ+3zPFCb6WuTTVBaTvszxa"
	)

	tests := []struct {
		name    string
		encoded string
		pw      string
		want    bool
	}{
		{"right password", good, pw, true},
		{"wrong password", good, pw + "x", false},
		{"empty password", good, "", false},
		{"case differs", good, strings.ToUpper(pw), false},
		{"reference vector t=1 m=64 p=1", ref1, "password", true},
		{"reference vector t=4 m=4096 p=4", ref4, "password", true},
		{"reference vector, wrong password", ref1, "Password", false},
		{"reference vector, other lanes", strings.Replace(ref4, "p=4", "p=2", 1), "password", false},
		{"empty hash", "", pw, false},
		{"garbage", "not a hash", pw, false},
		{"only dollars", "$$$$$", pw, false},
		{"argon2i", with(1, "argon2i"), pw, false},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy", pw, false},
		{"version 16", with(2, "v=16"), pw, false},
		{"no version", join("", "argon2id", parts[3], parts[4], parts[5]), pw, false},
		{"extra field", good + "$x", pw, false},
		{"params out of order", with(3, "t=2,m=19456,p=1"), pw, false},
		{"two params", with(3, "m=19456,t=2"), pw, false},
		{"zero time", with(3, "m=19456,t=0,p=1"), pw, false},
		{"zero threads", with(3, "m=19456,t=2,p=0"), pw, false},
		{"256 threads", with(3, "m=19456,t=2,p=256"), pw, false},
		{"memory below 8 KiB per lane", with(3, "m=7,t=2,p=1"), pw, false},
		{"huge memory", with(3, "m=4294967295,t=2,p=1"), pw, false},
		{"negative memory", with(3, "m=-1,t=2,p=1"), pw, false},
		{"huge time", with(3, "m=19456,t=1000000,p=1"), pw, false},
		{"non-numeric param", with(3, "m=lots,t=2,p=1"), pw, false},
		{"changed params", with(3, "m=19456,t=3,p=1"), pw, false},
		{"salt not base64", with(4, "!!!!"), pw, false},
		{"salt padded", with(4, parts[4]+"=="), pw, false},
		{"empty salt", with(4, ""), pw, false},
		{"short salt", with(4, "YWJj"), pw, false},
		{"key not base64", with(5, "%%%"), pw, false},
		{"empty key", with(5, ""), pw, false},
		{"short key", with(5, parts[5][:10]), pw, false},
		{"huge key", with(5, strings.Repeat("A", 200)), pw, false},
		{"key changed", with(5, flip(parts[5])), pw, false},
		{"salt changed", with(4, flip(parts[4])), pw, false},
		{"trailing newline", good + "\n", pw, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := dsr.CheckPassword(tt.encoded, tt.pw); got != tt.want {
				t.Errorf("CheckPassword(%q, %q) = %v, want %v", tt.encoded, tt.pw, got, tt.want)
			}
		})
	}
}

// flip changes the first base64 character of s to another one.
func flip(s string) string {
	if s[0] == 'A' {
		return "B" + s[1:]
	}
	return "A" + s[1:]
}

func TestGeneratePassword(t *testing.T) {
	t.Parallel()
	valid := regexp.MustCompile(`^[A-Za-z0-9_-]{20}$`)
	seen := map[string]bool{}
	for range 100 {
		p := dsr.GeneratePassword()
		if !valid.MatchString(p) {
			t.Fatalf("GeneratePassword() = %q, want 20 URL-safe characters", p)
		}
		if seen[p] {
			t.Fatalf("GeneratePassword repeated %q", p)
		}
		seen[p] = true
	}
	if _, err := dsr.HashPassword(dsr.GeneratePassword()); err != nil {
		t.Errorf("a generated password is rejected: %v", err)
	}
}

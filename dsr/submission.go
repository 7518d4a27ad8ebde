package dsr

import (
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Channel is how a request arrived.
type Channel string

// The intake channels.
const (
	ChannelWeb     Channel = "web"
	ChannelAPI     Channel = "api"
	ChannelEmail   Channel = "email"
	ChannelGPC     Channel = "gpc"
	ChannelOfficer Channel = "officer"
	// A request an officer enters from a letter, a phone call or a visit
	// in person: it may come without an email address (then every
	// message becomes a letter to post to the postal address).
	ChannelLetter   Channel = "letter"
	ChannelPhone    Channel = "phone"
	ChannelInPerson Channel = "in_person"
)

// OfficerEntered reports whether requests of channel c are entered by an
// officer (who may set the receipt time and leave out the email address).
func (c Channel) OfficerEntered() bool {
	switch c {
	case ChannelOfficer, ChannelLetter, ChannelPhone, ChannelInPerson:
		return true
	}
	return false
}

// ParseOfficerChannel checks the channel an officer names for a request
// they enter: letter, phone or in_person ("" is the generic officer
// channel). Errors: EINVALID on field "channel".
func ParseOfficerChannel(s string) (Channel, error) {
	switch c := Channel(strings.TrimSpace(s)); c {
	case "":
		return ChannelOfficer, nil
	case ChannelLetter, ChannelPhone, ChannelInPerson:
		return c, nil
	}
	return "", InvalidField("channel", "must be one of: letter, phone, in_person")
}

// Person is a data subject as they describe themselves.
type Person struct {
	Email   string
	Name    string
	Country string // ISO 3166-1 alpha-2
	State   string // US state code, only for the US
	// PostalAddress is where letters go (free text, lines separated by
	// newlines); with no Email, every message becomes a letter to it.
	PostalAddress string
}

// File is an uploaded document.
type File struct {
	Filename    string
	Content     []byte
	ContentType string // set by CheckPermissionFile from the content
}

// Agent is an authorized agent filing for a data subject, with the signed
// permission document.
type Agent struct {
	Name       string
	Email      string
	Permission *File
}

// Submission is a new request as filed through the form or the API.
type Submission struct {
	Kind    Kind
	Regime  string // optional: derived from Subject's place when empty
	Subject Person
	Details string
	Fields  map[string]string
	Agent   *Agent
	Channel Channel
	// ReceivedAt is when the request reached the organisation; zero means
	// now. Only officers entering a request that came by letter or phone
	// set it (channel officer), within the last year.
	ReceivedAt time.Time
	// EnteredBy is the event actor of an officer who entered the request
	// ("user:<id>"); empty for requests filed by the requester or agent.
	EnteredBy string
	// Letter is the scanned letter (PDF, PNG or JPEG, at most 10 MB) an
	// officer entering the request attaches; only officer channels.
	Letter *File
}

// Input limits.
const (
	MaxPermissionBytes = 10 << 20
	maxDetails         = 5000
	maxField           = 2000
	maxConsentFor      = 1000
	// MaxNameRunes is the longest subject or agent name accepted.
	MaxNameRunes = 200
	// MaxPostalAddressRunes is the longest postal address accepted.
	MaxPostalAddressRunes = 1000
)

// kindFields lists the kind-specific fields: name → allowed values (nil
// means free text) and whether it is required.
type fieldSpec struct {
	values   []string
	multi    bool
	required bool
	max      int // longest value in runes; 0 means maxField
}

var kindFields = map[Kind]map[string]fieldSpec{
	KindAccess: {
		"scope": {values: []string{"copy", "categories"}},
	},
	KindRectification: {
		"inaccurate": {required: true},
		"correction": {required: true},
	},
	KindPortability: {
		"format":  {values: []string{"json", "csv"}, required: true},
		"send_to": {},
	},
	KindOptOut: {
		"opt_out_of": {values: []string{"sale", "sharing", "targeted_advertising", "profiling", "direct_marketing"}, multi: true, required: true},
		"device_id":  {}, // a browser or device identifier (Global Privacy Control)
	},
	KindObjection: {
		"processing": {required: true},
		"grounds":    {required: true},
	},
	KindRestriction: {
		"ground": {values: []string{"accuracy_contested", "unlawful_processing", "needed_for_legal_claims", "objection_pending"}, required: true},
	},
	KindErasure: {},
	KindWithdrawConsent: {
		// what processing the consent covered, so the officer knows what to stop
		"consent_for": {required: true, max: maxConsentFor},
	},
	KindAutomatedDecision: {
		"decision": {required: true},
		"wants":    {values: []string{"human_review", "express_view", "contest"}, multi: true, required: true},
		"view":     {},
	},
}

// KindFieldValues returns the allowed values of a kind-specific choice
// field, or nil for free text.
func KindFieldValues(k Kind, field string) []string { return kindFields[k][field].values }

// Validate checks s against the organisation's config and returns the
// regime that applies. Text that cannot be stored (a NUL byte, broken
// UTF-8) in any field is refused first; names (subject and agent) must
// also be free of line breaks and other control characters, which no mail
// header to that person could carry, and at most MaxNameRunes long.
// Errors: EINVALID with Fields keyed like the JSON API ("subject.email",
// "fields.format", "agent.permission"); EUNAVAILABLE when the
// organisation offers no rights where the subject lives.
func (s *Submission) Validate(cfg *Config) (*Regime, error) {
	return s.ValidateAt(cfg, time.Now())
}

// ValidateAt is Validate for a request arriving at now (the engine's
// clock): the receipt day, ReceivedAt or else now in the organisation's
// time zone, decides which regimes are in force. Errors: as Validate.
func (s *Submission) ValidateAt(cfg *Config, now time.Time) (*Regime, error) {
	fe := FieldErrors{}
	s.checkStorable(fe)
	if len(fe) > 0 {
		// Text PostgreSQL cannot store (NUL, broken UTF-8) is refused
		// before anything else looks at it, so no later message quotes it.
		return nil, fe.Err()
	}
	s.normalize()
	s.validateKind(cfg, fe)
	s.validateSubject(fe)
	s.validateFields(fe)
	if utf8.RuneCountInString(s.Details) > maxDetails {
		fe.Add("details", "must be at most 5000 characters")
	}
	if s.Agent != nil {
		s.validateAgent(fe)
	}
	if s.Letter != nil {
		if !s.Channel.OfficerEntered() {
			fe.Add("letter", "only officers entering a request may attach the letter")
		} else if err := CheckDocumentFile(s.Letter, "letter"); err != nil {
			fe.Add("letter", ErrorMessage(err))
		}
	}
	if _, bad := fe["subject.country"]; bad {
		return nil, fe.Err()
	}
	if _, bad := fe["subject.state"]; bad {
		return nil, fe.Err()
	}
	received := now
	if !s.ReceivedAt.IsZero() {
		received = s.ReceivedAt
	}
	r, err := s.regime(cfg, DateIn(received, cfg.Location()))
	var de *Error
	if errors.As(err, &de) && de.Code == EINVALID {
		for k, v := range de.Fields {
			fe[k] = v // the regime's verdict on the kind beats "field required"
		}
		return nil, fe.Err()
	}
	if err != nil {
		if len(fe) > 0 {
			return nil, fe.Err()
		}
		return nil, err
	}
	s.validateOptOutChoices(r, fe)
	return r, fe.Err()
}

// validateOptOutChoices refuses, for an opt-out the requester filled in
// (web form or API), a choice that the law where they live does not have
// (OptOutChoices: CCPA "sale" from the Netherlands, GDPR
// "direct_marketing" from California), naming the valid ones. An opt-out
// read from an email or a GPC signal, or entered by an officer, keeps
// what it says: the officer fixes it at triage.
func (s *Submission) validateOptOutChoices(r *Regime, fe FieldErrors) {
	v := s.Fields["opt_out_of"]
	if s.Kind != KindOptOut || v == "" || (s.Channel != ChannelAPI && s.Channel != ChannelWeb) {
		return
	}
	if _, bad := fe["fields.opt_out_of"]; bad {
		return
	}
	allowed := OptOutChoices(r)
	for _, one := range strings.Split(v, ",") {
		if !slices.Contains(allowed, strings.TrimSpace(one)) {
			fe.Add("fields.opt_out_of", fmt.Sprintf("%q is no opt-out under %s, where the requester lives; valid choices: %s.", strings.TrimSpace(one), r.Short, strings.Join(allowed, ", ")))
			return
		}
	}
}

// checkStorable adds a field error for every text of s that cannot be
// stored: a NUL byte or invalid UTF-8.
func (s *Submission) checkStorable(fe FieldErrors) {
	texts := map[string]string{"kind": string(s.Kind), "regime": s.Regime, "details": s.Details,
		"subject.email": s.Subject.Email, "subject.name": s.Subject.Name,
		"subject.country": s.Subject.Country, "subject.state": s.Subject.State, "subject.postal_address": s.Subject.PostalAddress}
	for k, v := range s.Fields {
		if msg := TextProblem(k); msg != "" {
			fe.Add("fields", "a field name "+msg)
			continue
		}
		texts["fields."+k] = v
	}
	if s.Letter != nil {
		texts["letter"] = s.Letter.Filename
	}
	if s.Agent != nil {
		texts["agent.name"], texts["agent.email"] = s.Agent.Name, s.Agent.Email
		if s.Agent.Permission != nil {
			texts["agent.permission.filename"] = s.Agent.Permission.Filename
		}
	}
	for k, v := range texts {
		if msg := TextProblem(v); msg != "" {
			fe.Add(k, msg)
		}
	}
}

func (s *Submission) normalize() {
	s.Subject.Email = strings.TrimSpace(s.Subject.Email)
	s.Subject.Name = strings.TrimSpace(s.Subject.Name)
	s.Subject.Country = strings.ToUpper(strings.TrimSpace(s.Subject.Country))
	s.Subject.State = strings.ToUpper(strings.TrimSpace(s.Subject.State))
	s.Subject.PostalAddress = normalizeAddress(s.Subject.PostalAddress)
	s.Details = strings.TrimSpace(s.Details)
	for k, v := range s.Fields {
		s.Fields[k] = strings.TrimSpace(v)
		if s.Fields[k] == "" {
			delete(s.Fields, k)
		}
	}
	if s.Agent != nil {
		s.Agent.Name = strings.TrimSpace(s.Agent.Name)
		s.Agent.Email = strings.TrimSpace(s.Agent.Email)
	}
}

func (s *Submission) validateKind(cfg *Config, fe FieldErrors) {
	if s.Kind == "" {
		fe.Add("kind", "Choose what you are asking for.")
		return
	}
	if _, err := ParseKind(string(s.Kind)); err != nil {
		fe.Add("kind", ErrorMessage(err))
		return
	}
	if !cfg.OffersKind(s.Kind) {
		fe.Add("kind", cfg.Organisation.Name+" does not take "+s.Kind.Short()+" requests.")
	}
}

func (s *Submission) validateSubject(fe FieldErrors) {
	if s.Subject.Email == "" && s.Channel == ChannelGPC && s.Fields["device_id"] != "" {
		// A GPC opt-out may identify only the browser.
	} else if s.Subject.Email == "" && s.Channel.OfficerEntered() && s.Subject.PostalAddress != "" {
		// A letter, call or visit without an email address: the
		// requester is written to by post.
	} else if s.Subject.Email == "" && s.Channel.OfficerEntered() {
		fe.Add("subject.email", "Enter an email address or a postal address.")
		fe.Add("subject.postal_address", "Enter a postal address or an email address.")
	} else if s.Subject.Email == "" {
		fe.Add("subject.email", "Enter your email address.")
	} else if !ValidEmail(s.Subject.Email) {
		fe.Add("subject.email", "Enter an email address like name@example.com.")
	}
	if msg := NameProblem(s.Subject.Name); msg != "" {
		fe.Add("subject.name", msg)
	}
	if utf8.RuneCountInString(s.Subject.PostalAddress) > MaxPostalAddressRunes {
		fe.Add("subject.postal_address", fmt.Sprintf("must be at most %d characters", MaxPostalAddressRunes))
	} else if s.Subject.PostalAddress != "" && s.Subject.Email == "" && s.Subject.Name == "" {
		fe.Add("subject.name", "Enter the name to write the letters to.")
	}
	if s.Subject.Country == "" {
		if s.Regime == "" {
			fe.Add("subject.country", "Choose the country where you live.")
		}
	} else if cc, ok := NormalizeCountry(s.Subject.Country); !ok {
		fe.Add("subject.country", "Use a two-letter country code such as NL, GB or US.")
	} else {
		s.Subject.Country = cc
	}
	switch {
	case s.Subject.Country == "US" && s.Subject.State == "" && s.Regime == "":
		fe.Add("subject.state", "Choose the US state where you live.")
	case s.Subject.State != "" && s.Subject.Country != "US":
		fe.Add("subject.state", "A state is only needed for the United States.")
	case s.Subject.State != "":
		if _, ok := NormalizeState(s.Subject.State); !ok {
			fe.Add("subject.state", "Use a two-letter US state code such as CA.")
		}
	}
}

func (s *Submission) validateFields(fe FieldErrors) {
	specs := kindFields[s.Kind]
	for name := range s.Fields {
		if _, ok := specs[name]; !ok && s.Kind != "" {
			fe.Add("fields."+name, "is not a field of "+s.Kind.Short()+" requests")
		}
	}
	names := make([]string, 0, len(specs))
	for n := range specs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		validateField(fe, name, s.Fields[name], specs[name])
	}
}

func validateField(fe FieldErrors, name, v string, spec fieldSpec) {
	key := "fields." + name
	if v == "" {
		if spec.required {
			fe.Add(key, "This is required.")
		}
		return
	}
	limit := maxField
	if spec.max > 0 {
		limit = spec.max
	}
	if utf8.RuneCountInString(v) > limit {
		fe.Add(key, fmt.Sprintf("must be at most %d characters", limit))
		return
	}
	if spec.values == nil {
		return
	}
	vals := []string{v}
	if spec.multi {
		vals = strings.Split(v, ",")
	}
	for _, one := range vals {
		if !contains(spec.values, strings.TrimSpace(one)) {
			fe.Add(key, "must be one of: "+strings.Join(spec.values, ", "))
			return
		}
	}
}

func (s *Submission) validateAgent(fe FieldErrors) {
	a := s.Agent
	if a.Name == "" {
		fe.Add("agent.name", "Enter the agent's name.")
	} else if msg := NameProblem(a.Name); msg != "" {
		fe.Add("agent.name", msg)
	}
	if !ValidEmail(a.Email) {
		fe.Add("agent.email", "Enter the agent's email address.")
	} else if strings.EqualFold(a.Email, s.Subject.Email) {
		fe.Add("agent.email", "The agent's email must differ from the data subject's.")
	}
	if err := CheckPermissionFile(a.Permission); err != nil {
		fe.Add("agent.permission", ErrorMessage(err))
	}
}

// TextProblem says why s cannot be stored as text, or "" when it can:
// PostgreSQL text holds no NUL byte and only valid UTF-8. The message never
// quotes s.
func TextProblem(s string) string {
	switch {
	case strings.IndexByte(s, 0) >= 0:
		return "must not contain NUL bytes"
	case !utf8.ValidString(s):
		return "must be valid UTF-8 text"
	}
	return ""
}

// NameProblem says why s cannot be a person's name, or "": besides what
// TextProblem refuses, a name goes into mail headers and subjects, so it
// may hold no line break or other control character, and at most
// MaxNameRunes characters.
func NameProblem(s string) string {
	if msg := TextProblem(s); msg != "" {
		return msg
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return "must not contain line breaks or control characters"
		}
	}
	if utf8.RuneCountInString(s) > MaxNameRunes {
		return "must be at most 200 characters"
	}
	return ""
}

// CheckTexts refuses, with one field error per bad value, every value of
// fields (field name → text) that TextProblem refuses. Errors: EINVALID
// with Fields. Handlers run it over free text and filters before they reach
// the database.
func CheckTexts(fields map[string]string) error {
	fe := FieldErrors{}
	for k, v := range fields {
		if msg := TextProblem(v); msg != "" {
			fe.Add(k, msg)
		}
	}
	return fe.Err()
}

// CheckPermissionFile accepts a signed permission document: PDF, PNG or
// JPEG by content (not by name), at most 10 MB. It sets f.ContentType.
// Errors: EINVALID.
func CheckPermissionFile(f *File) error {
	if f == nil || len(f.Content) == 0 {
		return Errorf(EINVALID, "Attach the signed permission (PDF, PNG or JPEG).")
	}
	if len(f.Content) > MaxPermissionBytes {
		return Errorf(EINVALID, "The permission file must be at most 10 MB.")
	}
	ct := http.DetectContentType(f.Content)
	switch ct {
	case "application/pdf", "image/png", "image/jpeg":
		f.ContentType = ct
	default:
		return Errorf(EINVALID, "The permission file must be a PDF, PNG or JPEG document.")
	}
	f.Filename = SafeFilename(f.Filename, ct)
	return nil
}

// SafeFilename strips paths and control characters from a client-supplied
// filename, falling back to a name derived from the content type.
func SafeFilename(name, contentType string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '"' {
			return -1
		}
		return r
	}, name)
	if utf8.RuneCountInString(name) > 120 {
		name = string([]rune(name)[:120])
	}
	if strings.Trim(name, ". ") == "" {
		ext := map[string]string{"application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg"}[contentType]
		name = "document" + ext
	}
	return name
}

func (s *Submission) regime(cfg *Config, received Date) (*Regime, error) {
	var r *Regime
	if s.Regime != "" {
		var err error
		if r, err = LookupRegime(s.Regime); err != nil {
			return nil, InvalidField("regime", ErrorMessage(err))
		}
		if !cfg.OffersRegime(r.ID) {
			return nil, InvalidField("regime", cfg.Organisation.Name+" does not handle requests under "+r.Short+".")
		}
		if !r.InForce(received) {
			return nil, InvalidField("regime", fmt.Sprintf("%s applies to requests received from %s.", r.Short, r.Effective))
		}
	} else {
		var err error
		if r, err = cfg.RegimeFor(s.Subject.Country, s.Subject.State, received); err != nil {
			return nil, err
		}
	}
	if s.Kind != "" && !r.Covers(s.Kind) && cfg.VoluntaryFor(s.Kind, r) == nil {
		return nil, InvalidField("kind", r.Short+" does not give a right of "+s.Kind.Short()+"; choose one of: "+joinKinds(r.Kinds))
	}
	return r, nil
}

// NeedsVerification reports whether the data subject must confirm by email
// before the request proceeds: always when an agent files (the subject
// confirms the agent's authority, CCPA §7063), except for opt-outs where
// the regime forbids verification — those proceed on the agent's signed
// permission alone.
func (s *Submission) NeedsVerification(r *Regime) bool {
	return r.RequiresVerification(s.Kind)
}

// ValidEmail reports whether s is a bare email address (no display name).
func ValidEmail(s string) bool {
	if len(s) > 254 {
		return false
	}
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && strings.Contains(s[strings.LastIndexByte(s, '@'):], ".")
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// normalizeAddress trims a postal address line by line, drops empty lines
// and other control characters than the line breaks, so a letter prints
// as it was typed.
func normalizeAddress(a string) string {
	var lines []string
	for _, l := range strings.Split(strings.ReplaceAll(a, "\r\n", "\n"), "\n") {
		l = strings.TrimSpace(strings.Map(func(r rune) rune {
			if unicode.IsControl(r) {
				return ' '
			}
			return r
		}, l))
		if l != "" {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n")
}

// CheckDocumentFile checks an uploaded document (what names it in the
// messages, e.g. "letter"): PDF, PNG or JPEG of at most
// MaxPermissionBytes, by its content; it sets the content type and a safe
// filename. Errors: EINVALID.
func CheckDocumentFile(f *File, what string) error {
	if f == nil || len(f.Content) == 0 {
		return Errorf(EINVALID, "Attach the %s (PDF, PNG or JPEG).", what)
	}
	if len(f.Content) > MaxPermissionBytes {
		return Errorf(EINVALID, "The %s file must be at most 10 MB.", what)
	}
	ct := http.DetectContentType(f.Content)
	switch ct {
	case "application/pdf", "image/png", "image/jpeg":
		f.ContentType = ct
	default:
		return Errorf(EINVALID, "The %s file must be a PDF, PNG or JPEG document.", what)
	}
	f.Filename = SafeFilename(f.Filename, ct)
	return nil
}

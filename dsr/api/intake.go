package api

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/dsrdesk/dsrdesk/dsr"
)

// apiRequest is the JSON body of POST /api/v1/requests.
type apiRequest struct {
	Kind    string                     `json:"kind"`
	Regime  string                     `json:"regime"`
	Subject apiSubject                 `json:"subject"`
	Details string                     `json:"details"`
	Fields  map[string]json.RawMessage `json:"fields"`
	Agent   *apiAgent                  `json:"agent"`
}

type apiSubject struct {
	Email   string  `json:"email"`
	Name    string  `json:"name"`
	Country string  `json:"country"`
	State   *string `json:"state"`
	// PostalAddress is where letters go; with no email (a request an
	// officer enters from a letter or a call) every message is a letter.
	PostalAddress string `json:"postal_address"`
}

type apiAgent struct {
	Name       string         `json:"name"`
	Email      string         `json:"email"`
	Permission *apiPermission `json:"permission"`
}

type apiPermission struct {
	Filename      string `json:"filename"`
	ContentBase64 string `json:"content_base64"`
}

const maxIdempotencyKey = 255

// apiCreateRequest handles POST /api/v1/requests: 201 with the receipt;
// 400 malformed JSON; 413 too large; 415 not JSON; 422 field errors; 409
// an Idempotency-Key reused for another request; 429 rate limited.
func (s *Server) apiCreateRequest(c echo.Context) error {
	if err := requireJSON(c.Request()); err != nil {
		return err
	}
	key := strings.TrimSpace(c.Request().Header.Get("Idempotency-Key"))
	if len(key) > maxIdempotencyKey {
		return dsr.InvalidField("Idempotency-Key", "must be at most 255 characters")
	}
	sub, err := decodeAPIRequest(c.Request().Body)
	if err != nil {
		return err
	}
	sub.Channel = dsr.ChannelAPI
	rc, err := s.engine.Submit(c.Request().Context(), *sub, key)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, rc.StatusURL)
	return c.JSON(http.StatusCreated, rc)
}

func requireJSON(r *http.Request) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get(echo.HeaderContentType))
	if err != nil || mt != echo.MIMEApplicationJSON {
		return dsr.Errorf(dsr.EUNSUPPORTED, "Send the request as Content-Type: application/json.")
	}
	return nil
}

func newStrictDecoder(r io.Reader) *json.Decoder {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	return dec
}

// decodeAPIRequest reads the JSON body strictly: malformed JSON is 400,
// unknown fields and wrong types are 422 naming the field.
func decodeAPIRequest(body io.Reader) (*dsr.Submission, error) {
	raw, err := io.ReadAll(body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, dsr.Errorf(dsr.ETOOLARGE, "The request is too large (the limit is 15 MB).")
		}
		return nil, errBadRequest{"Could not read the request body."}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var in apiRequest
	if err := dec.Decode(&in); err != nil {
		return nil, jsonError(err)
	}
	if dec.More() {
		return nil, errBadRequest{"The body must hold exactly one JSON object."}
	}
	return in.submission()
}

func jsonError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return &dsr.Error{Code: dsr.EINVALID, Message: dsr.MsgInvalidFields,
			Fields: map[string]string{te.Field: fmt.Sprintf("must be a %s", jsonTypeName(te.Type.Kind().String()))}}
	}
	if msg := err.Error(); strings.HasPrefix(msg, "json: unknown field ") {
		field := strings.Trim(strings.TrimPrefix(msg, "json: unknown field "), `"`)
		return dsr.InvalidField(field, "is not a known field")
	}
	return errBadRequest{"The body is not valid JSON: " + strings.TrimPrefix(err.Error(), "json: ")}
}

func jsonTypeName(kind string) string {
	switch kind {
	case "struct", "map":
		return "JSON object"
	case "ptr":
		return "JSON object or null"
	}
	return kind
}

func (in *apiRequest) submission() (*dsr.Submission, error) {
	fe := dsr.FieldErrors{}
	s := &dsr.Submission{Kind: dsr.Kind(in.Kind), Regime: in.Regime, Details: in.Details,
		Subject: dsr.Person{Email: in.Subject.Email, Name: in.Subject.Name, Country: in.Subject.Country, PostalAddress: in.Subject.PostalAddress},
		Fields:  map[string]string{}}
	if in.Subject.State != nil {
		s.Subject.State = *in.Subject.State
	}
	for k, v := range in.Fields {
		str, err := fieldString(v)
		if err != nil {
			fe.Add("fields."+k, err.Error())
			continue
		}
		s.Fields[k] = str
	}
	if in.Agent != nil {
		s.Agent = &dsr.Agent{Name: in.Agent.Name, Email: in.Agent.Email}
		if p := in.Agent.Permission; p != nil {
			content, err := base64.StdEncoding.DecodeString(p.ContentBase64)
			if err != nil {
				fe.Add("agent.permission.content_base64", "must be standard base64")
			}
			s.Agent.Permission = &dsr.File{Filename: p.Filename, Content: content}
		}
	}
	return s, fe.Err()
}

// fieldString accepts a kind-specific field as a string or an array of
// strings (joined with commas, e.g. opt_out_of).
func fieldString(v json.RawMessage) (string, error) {
	var s string
	if err := json.Unmarshal(v, &s); err == nil {
		return s, nil
	}
	var list []string
	if err := json.Unmarshal(v, &list); err == nil {
		return strings.Join(list, ","), nil
	}
	if string(v) == "null" {
		return "", nil
	}
	return "", errors.New("must be a string or an array of strings")
}

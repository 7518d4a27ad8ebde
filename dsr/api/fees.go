package api

import (
	"bytes"
	"encoding/json"
	"reflect"
)

// feeAmount is a request-fee amount as the admin API takes it: a JSON
// decimal string ("12.50") or number (12.5), kept as the decimal text so
// that no float rounding reaches the stored amount. dsr.PlanRequestFee
// checks the value.
type feeAmount string

// UnmarshalJSON accepts a string or a number; anything else is a type
// error naming the field (422).
func (a *feeAmount) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*a = feeAmount(s)
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return err
	}
	n, ok := v.(json.Number)
	if !ok {
		return &json.UnmarshalTypeError{Value: "non-number", Field: "amount", Type: reflect.TypeOf("")}
	}
	*a = feeAmount(n.String())
	return nil
}

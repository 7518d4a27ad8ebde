package connector

import (
	"database/sql/driver"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"net/netip"
	"strconv"
	"time"
	"unicode/utf8"
)

// jsonValue turns a value read by a driver into one encoding/json writes
// the way a person reading the export expects: integers as int64 (uint64
// above its range), times as RFC 3339 (dates
// as YYYY-MM-DD when date is set), text as strings, bytes as a string when
// they are UTF-8 and as standard base64 otherwise, exact numbers
// (NUMERIC/DECIMAL) as strings so no digit is lost, NaN and ±Inf as
// strings, and anything else by its text form.
func jsonValue(v any, date bool) any {
	switch x := v.(type) {
	case nil, bool, string, int64, uint64:
		return x
	case int: // one integer type whatever the column's width
		return int64(x)
	case int8:
		return int64(x)
	case int16:
		return int64(x)
	case int32:
		return int64(x)
	case uint:
		return uint64(x)
	case uint8:
		return int64(x)
	case uint16:
		return int64(x)
	case uint32:
		return int64(x)
	case float32:
		return floatValue(float64(x))
	case float64:
		return floatValue(x)
	case time.Time:
		if date {
			return x.Format(time.DateOnly)
		}
		return x.UTC().Format(time.RFC3339Nano)
	case []byte:
		return bytesValue(x)
	case [16]byte: // PostgreSQL uuid
		return fmt.Sprintf("%x-%x-%x-%x-%x", x[0:4], x[4:6], x[6:8], x[8:10], x[10:16])
	case json.Number:
		return x
	case *big.Int:
		return x.String()
	case netip.Prefix:
		return x.String()
	case netip.Addr:
		return x.String()
	case time.Duration:
		return x.String()
	case map[string]any: // json, jsonb
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = jsonValue(e, false)
		}
		return m
	case []any: // arrays, json arrays
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = jsonValue(e, date)
		}
		return s
	case fmt.Stringer:
		return x.String()
	case driver.Valuer: // pgtype.Numeric, Interval, …: their text form
		dv, err := x.Value()
		if err != nil {
			return fmt.Sprint(x)
		}
		if dv == nil {
			return nil
		}
		return jsonValue(dv, date)
	default:
		return fmt.Sprint(x)
	}
}

func floatValue(f float64) any {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	return f
}

func bytesValue(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	return base64.StdEncoding.EncodeToString(b)
}

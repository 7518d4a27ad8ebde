package connector

import (
	"fmt"
	"strconv"
	"strings"
)

// dialect is the SQL flavour a statement is tokenized for: it decides the
// placeholder syntax and which quoting and comment forms exist.
type dialect int

const (
	dialectPG    dialect = iota // $1, $2 …; '' "" $tag$ E'' -- /* */ (nested), :: casts
	dialectMySQL                // ?; '' "" `` with backslash escapes, -- , #, /* */
)

// Parameters every statement may use; rectification statements may also
// use the correction's field names.
const (
	ParamEmail       = "email"
	ParamEmailSHA256 = "email_sha256"
	ParamRequestID   = "request_id"
	ParamTaskID      = "task_id"
)

var standardParams = map[string]bool{
	ParamEmail: true, ParamEmailSHA256: true, ParamRequestID: true, ParamTaskID: true,
}

// statement is one configured SQL text rewritten for its driver: Text has
// driver placeholders, Params names the value of each placeholder in
// order ($n for PostgreSQL, the n-th ? for MySQL).
type statement struct {
	Text   string
	Params []string
}

// compile rewrites the named parameters (:name) of sql into the
// placeholders of d, leaving string literals, quoted identifiers,
// comments and PostgreSQL :: casts untouched. Values are bound later by
// the driver; nothing is ever interpolated into the text. Errors: an
// unterminated literal or comment, or driver placeholders ($1, ?) in the
// configured text, which would be confused with ours.
func compile(sql string, d dialect) (statement, error) {
	var (
		out    strings.Builder
		params []string
		index  = map[string]int{} // PostgreSQL reuses $n for a repeated name
	)
	i, n := 0, len(sql)
	for i < n {
		c := sql[i]
		switch {
		case c == '\'' || c == '"' || (c == '`' && d == dialectMySQL):
			end, err := skipQuoted(sql, i, (d == dialectMySQL && c != '`') || (c == '\'' && escapeString(sql, i)))
			if err != nil {
				return statement{}, err
			}
			out.WriteString(sql[i:end])
			i = end
		case c == '-' && i+1 < n && sql[i+1] == '-' && (d == dialectPG || i+2 >= n || isSpace(sql[i+2])),
			c == '#' && d == dialectMySQL:
			end := strings.IndexByte(sql[i:], '\n')
			if end < 0 {
				end = n - i
			}
			out.WriteString(sql[i : i+end])
			i += end
		case c == '/' && i+1 < n && sql[i+1] == '*':
			end, err := skipBlockComment(sql, i, d == dialectPG)
			if err != nil {
				return statement{}, err
			}
			out.WriteString(sql[i:end])
			i = end
		case c == '$' && d == dialectPG:
			if i+1 < n && isDigit(sql[i+1]) {
				return statement{}, fmt.Errorf("positional parameter $%c: use named parameters such as :email", sql[i+1])
			}
			end, ok, err := skipDollarQuoted(sql, i)
			if err != nil {
				return statement{}, err
			}
			if !ok {
				end = i + 1
			}
			out.WriteString(sql[i:end])
			i = end
		case c == '?' && d == dialectMySQL:
			return statement{}, fmt.Errorf("placeholder ?: use named parameters such as :email")
		case c == ':' && i+1 < n && sql[i+1] == ':':
			out.WriteString("::") // PostgreSQL cast
			i += 2
		case c == ':' && i+1 < n && isIdentStart(sql[i+1]) && (i == 0 || !isIdentPart(sql[i-1])):
			j := i + 1
			for j < n && (isIdentStart(sql[j]) || isDigit(sql[j])) {
				j++
			}
			name := sql[i+1 : j]
			if d == dialectPG {
				k, seen := index[name]
				if !seen {
					params = append(params, name)
					k = len(params)
					index[name] = k
				}
				out.WriteString("$" + strconv.Itoa(k))
			} else {
				params = append(params, name)
				out.WriteByte('?')
			}
			i = j
		default:
			out.WriteByte(c)
			i++
		}
	}
	return statement{Text: out.String(), Params: params}, nil
}

// escapeString reports whether the PostgreSQL literal opening at i is an
// escape string (E'…'), where backslashes escape.
func escapeString(sql string, i int) bool {
	return i > 0 && (sql[i-1] == 'E' || sql[i-1] == 'e') && (i == 1 || !isIdentPart(sql[i-2]))
}

// skipQuoted returns the index just past the quoted run opening at i. A
// doubled quote is an escaped quote; with backslash, \x escapes x.
func skipQuoted(sql string, i int, backslash bool) (int, error) {
	q := sql[i]
	for j := i + 1; j < len(sql); j++ {
		switch sql[j] {
		case '\\':
			if backslash {
				j++
			}
		case q:
			if j+1 < len(sql) && sql[j+1] == q {
				j++
				continue
			}
			return j + 1, nil
		}
	}
	return 0, fmt.Errorf("unterminated %c quote at offset %d", q, i)
}

// skipBlockComment returns the index just past the /* … */ comment at i;
// PostgreSQL comments nest.
func skipBlockComment(sql string, i int, nested bool) (int, error) {
	depth := 0
	for j := i; j+1 < len(sql); j++ {
		switch {
		case sql[j] == '/' && sql[j+1] == '*':
			if depth == 0 || nested {
				depth++
			}
			j++
		case sql[j] == '*' && sql[j+1] == '/':
			depth--
			j++
			if depth == 0 {
				return j + 1, nil
			}
		}
	}
	return 0, fmt.Errorf("unterminated /* comment at offset %d", i)
}

// skipDollarQuoted handles PostgreSQL $tag$ … $tag$ strings. ok is false
// when the $ at i does not open one (then it is an ordinary character).
func skipDollarQuoted(sql string, i int) (end int, ok bool, err error) {
	j := i + 1
	for j < len(sql) && isIdentPart(sql[j]) && sql[j] != '$' {
		j++
	}
	if j >= len(sql) || sql[j] != '$' || (j > i+1 && isDigit(sql[i+1])) {
		return 0, false, nil
	}
	if i > 0 && isIdentPart(sql[i-1]) {
		return 0, false, nil // $ inside an identifier (PostgreSQL allows it)
	}
	tag := sql[i : j+1]
	k := strings.Index(sql[j+1:], tag)
	if k < 0 {
		return 0, false, fmt.Errorf("unterminated %s quote at offset %d", tag, i)
	}
	return j + 1 + k + len(tag), true, nil
}

func isSpace(c byte) bool      { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }
func isDigit(c byte) bool      { return c >= '0' && c <= '9' }
func isIdentStart(c byte) bool { return c == '_' || (c|0x20 >= 'a' && c|0x20 <= 'z') }
func isIdentPart(c byte) bool  { return isIdentStart(c) || isDigit(c) || c == '$' }

package mapper

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/weftio/weft/internal/lazy"
	"golang.org/x/text/currency"
)

var (
	reEmail    = lazy.NewRegexp(`^[^@\s]+@[^@\s]+\.[a-zA-Z]{2,}$`)
	rePhone    = lazy.NewRegexp(`^\+?[0-9 ()./-]{7,20}$`)
	reISODate  = lazy.NewRegexp(`^\d{4}-\d{2}-\d{2}$`)
	reISOTime  = lazy.NewRegexp(`^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$`)
	reClock    = lazy.NewRegexp(`^\d{1,2}:\d{2}(:\d{2})?\s*([aApP]\.?[mM]\.?)?$`)
	reUSDate   = lazy.NewRegexp(`^\d{1,2}/\d{1,2}/\d{4}$`)
	reEUDate   = lazy.NewRegexp(`^\d{1,2}\.\d{1,2}\.\d{4}$`)
	reURL      = lazy.NewRegexp(`^https?://`)
	reUUID     = lazy.NewRegexp(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	reCurrency = lazy.NewRegexp(`^[A-Z]{3}$`)
	reCountry  = lazy.NewRegexp(`^[A-Z]{2}$`)
	reZip      = lazy.NewRegexp(`^(\d{5}(-\d{4})?|[A-Z]\d[A-Z] ?\d[A-Z]\d|\d{4,5}|[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2})$`)
	reMoney    = lazy.NewRegexp(`^[$€£]?\s?-?\d{1,3}(,?\d{3})*(\.\d{2})$`)
	reIDish    = lazy.NewRegexp(`^[A-Za-z]{0,6}[-_]?\d{2,}$`)
)

// valueClass names what a value looks like.
func valueClass(v any) string {
	switch x := v.(type) {
	case bool:
		return "bool"
	case float64:
		if x == float64(int64(x)) {
			return "int"
		}
		return "decimal"
	case string:
		s := strings.TrimSpace(x)
		switch {
		case s == "":
			return ""
		case reEmail.MatchString(s):
			return "email"
		case reISOTime.MatchString(s):
			return "datetime"
		case reISODate.MatchString(s):
			return "date"
		case reUSDate.MatchString(s):
			return "date_us"
		case reClock.MatchString(s):
			return "clock" // a time of day (11:00am), not a point in time
		case reEUDate.MatchString(s):
			return "date_eu"
		case reURL.MatchString(s):
			return "url"
		case reUUID.MatchString(s):
			return "uuid"
		case reCurrency.MatchString(s) && isoCurrency(s):
			return "currency"
		case reCountry.MatchString(s):
			return "country"
		case strings.EqualFold(s, "true") || strings.EqualFold(s, "false") || s == "Y" || s == "N" || strings.EqualFold(s, "yes") || strings.EqualFold(s, "no"):
			return "bool"
		case reMoney.MatchString(s):
			return "money"
		case reIDish.MatchString(s) && !isNumber(s):
			return "id"
		case isNumber(s):
			if strings.Contains(s, ".") {
				return "decimal"
			}
			if len(s) >= 7 && rePhone.MatchString(s) {
				return "digits"
			}
			return "int"
		case rePhone.MatchString(s) && strings.ContainsAny(s, "+-() ") && countDigits(s) >= 7:
			return "phone"
		case reZip.MatchString(s):
			return "postal"
		case strings.Count(s, " ") >= 1 && len(s) <= 60 && isNameLike(s):
			return "name"
		}
		return "text"
	}
	return ""
}

func isNumber(s string) bool {
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

func countDigits(s string) int {
	n := 0
	for _, r := range s {
		if r >= '0' && r <= '9' {
			n++
		}
	}
	return n
}

func isNameLike(s string) bool {
	for _, w := range strings.Fields(s) {
		if len(w) == 0 || !(w[0] >= 'A' && w[0] <= 'Z') {
			return false
		}
	}
	return len(strings.Fields(s)) <= 4
}

// classes is the distribution of value classes among examples.
func classes(ex []any) map[string]float64 {
	out := map[string]float64{}
	n := 0.0
	for _, v := range ex {
		if c := valueClass(v); c != "" {
			out[c]++
			n++
		}
	}
	for k := range out {
		out[k] /= n
	}
	return out
}

// valueFormat infers a JSON Schema format from examples, when they agree.
func valueFormat(ex []any) string {
	cs := classes(ex)
	best, share := "", 0.0
	for c, s := range cs {
		if s > share {
			best, share = c, s
		}
	}
	if share < par.Values.FormatShare {
		return ""
	}
	return map[string]string{"email": "email", "datetime": "date-time", "date": "date", "date_us": "date-us", "date_eu": "date-eu",
		"url": "uri", "uuid": "uuid", "currency": "currency", "country": "country", "phone": "phone", "postal": "postal-code", "money": "money"}[best]
}

// csvType infers a type and format for a CSV column.
func csvType(ex []any) (string, string) {
	if len(ex) == 0 {
		return "string", ""
	}
	cs := classes(ex)
	switch {
	case cs["int"] >= par.Values.CSVTypeShare:
		return "integer", ""
	case cs["int"]+cs["decimal"] >= par.Values.CSVTypeShare:
		return "number", ""
	case cs["bool"] >= par.Values.CSVTypeShare:
		return "boolean", ""
	}
	return "string", valueFormat(ex)
}

func exampleStrings(ex []any) map[string]bool {
	out := map[string]bool{}
	for _, v := range ex {
		out[strings.ToLower(strings.TrimSpace(fmt.Sprint(v)))] = true
	}
	return out
}

// isoCurrency: three capitals are a currency code only when ISO 4217 has
// them ("EUR"), not any upper-case abbreviation ("GHH", a facility).
func isoCurrency(s string) bool {
	_, err := currency.ParseISO(s)
	return err == nil
}

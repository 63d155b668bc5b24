package cdc

import (
	"reflect"
	"testing"
)

func TestSplitTable(t *testing.T) {
	for in, want := range map[string][2]string{"orders": {"public", "orders"}, "sales.orders": {"sales", "orders"}} {
		s, tb := SplitTable(in)
		if s != want[0] || tb != want[1] {
			t.Errorf("%s: %s %s", in, s, tb)
		}
	}
	if got := quoteIdent(`we"ird`); got != `"we""ird"` {
		t.Errorf("quoteIdent: %s", got)
	}
}

func TestDecodeTextValues(t *testing.T) {
	m := newTypeMap()
	cases := []struct {
		oid  uint32
		in   string
		want any
	}{
		{oidInt4, "42", int64(42)},
		{oidInt8, "-9007199254740993", int64(-9007199254740993)},
		{oidBool, "t", true},
		{oidBool, "f", false},
		{oidFloat8, "1.5", 1.5},
		{oidFloat8, "NaN", "NaN"},           // not a JSON number: kept as text
		{oidFloat8, "Infinity", "Infinity"}, // idem
		{oidJSONB, `{"a":[1,"x"]}`, map[string]any{"a": []any{float64(1), "x"}}},
		{oidJSON, `{bad`, "{bad"}, // not JSON: kept as text
		{1700, "10.50", "10.50"},  // numeric: text, exact
		{1184, "2026-12-03 01:00:00+00", "2026-12-03 01:00:00+00"},
	}
	for _, c := range cases {
		if got := m.decode(c.oid, []byte(c.in)); !reflect.DeepEqual(got, c.want) {
			t.Errorf("oid %d %q: %#v, want %#v", c.oid, c.in, got, c.want)
		}
	}
}

func TestRedactKeepsPasswordOut(t *testing.T) {
	dsn := "postgres://u:s3cret-pw@127.0.0.1:1/db"
	if got := redact(errString("dial postgres://u:s3cret-pw@127.0.0.1:1/db failed"), dsn); got != "dial postgres://u:***@127.0.0.1:1/db failed" {
		t.Errorf("redact: %s", got)
	}
}

type errString string

func (e errString) Error() string { return string(e) }

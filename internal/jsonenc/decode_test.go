package jsonenc

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

var decodeCases = []string{
	`{"order_id":"A-1001","customer":{"name":"ada lovelace","email":"ada@example.com"},"currency":"eur","items":[{"sku":"sku-1","qty":2,"price":9.99},{"sku":"sku-2","qty":1,"price":24.5}]}`,
	`{}`, `[]`, ` [ ] `, `{"a":[]}`, `null`, `true`, `false`, `0`, `-0`, `-0.0`, `1e3`, `1E+3`, `1.5e-7`, `123456789012345678901234567890`,
	`"x"`, `""`, `"é 日本"`, `"a\"b"`, `"\u00e9\n\t\\/"`, `"\ud83d\ude00"`, `"\udc00"`, `"\ud800x"`, "\"\xff\xfe\"", "\"a\xc3\"",
	`{"k":1,"k":2}`, `{"a":{"b":{"c":[1,[2,[3]]]}}}`, " \n{\"a\" : 1 ,\t\"b\":[ true , null ]}\r\n",
	// refused: the same error as encoding/json's
	``, ` `, `{`, `}`, `[1,]`, `{"a":1,}`, `{"a" 1}`, `{a:1}`, `01`, `1.`, `.5`, `-`, `1e`, `1e+`, `+1`, `0x10`, `NaN`, `tru`, `nul`,
	`"\x"`, "\"a\x01b\"", `"abc`, `{"a":1}x`, `[1] [2]`, `1e400`, `-1e400`, `"\u12"`, `{"a":1}}`, `[[]`, `{"a"}`, `{,}`, `[,1]`,
	strings.Repeat("[", 1100) + strings.Repeat("]", 1100), strings.Repeat(`{"a":`, 50) + "1" + strings.Repeat("}", 50),
}

// TestDecodeAsUnmarshal: Decode gives json.Unmarshal's value or error.
func TestDecodeAsUnmarshal(t *testing.T) {
	for _, c := range decodeCases {
		checkDecode(t, []byte(c))
	}
}

func checkDecode(t *testing.T, data []byte) {
	t.Helper()
	got, gerr := Decode(data)
	var want any
	werr := json.Unmarshal(data, &want)
	if (gerr == nil) != (werr == nil) || (gerr != nil && gerr.Error() != werr.Error()) {
		t.Fatalf("%q: error %v, json's %v", data, gerr, werr)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%q: %#v, json's %#v", data, got, want)
	}
}

// The decoder itself takes the common documents (not encoding/json).
func TestDecodeTakesPlainDocuments(t *testing.T) {
	for _, c := range []string{decodeCases[0], `{"a":[1,-2.5e3,true,null,"é"]}`} {
		d := decoder{s: c}
		if _, ok := d.value(0); !ok {
			t.Errorf("%s: left to encoding/json", c)
		}
	}
	doc := []byte(decodeCases[0])
	n := testing.AllocsPerRun(100, func() { _, _ = Decode(doc) })
	j := testing.AllocsPerRun(100, func() {
		var v any
		_ = json.Unmarshal(doc, &v)
	})
	if n > j/2 {
		t.Errorf("order body: %.0f allocations, json.Unmarshal's %.0f: want at most half", n, j)
	}
}

func FuzzDecode(f *testing.F) {
	for _, c := range decodeCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkDecode(t, data) })
}

package ai

import (
	"context"
	"reflect"
	"testing"
)

func TestSplitAndWords(t *testing.T) {
	for in, want := range map[string][]string{
		"billingAddressLine1": {"billing", "address", "line", "1"},
		"customer_ID":         {"customer", "id"},
		"HTTPStatusCode":      {"http", "status", "code"},
		"lines[].unit-price":  {"lines", "unit", "price"},
		"dob":                 {"dob"},
	} {
		if got := Split(in); !reflect.DeepEqual(got, want) {
			t.Errorf("Split(%q) = %v, want %v", in, got, want)
		}
	}
	if got := Words("cust_dob qty"); !reflect.DeepEqual(got, []string{"customer", "birth", "date", "quantity"}) {
		t.Errorf("Words: %v", got)
	}
	// Run-on upper-case names split on the lexicon's words too (they once
	// did not: the vocabulary was built before the lexicon).
	if got := Words("VENDORNAME"); !reflect.DeepEqual(got, []string{"vendor", "name"}) {
		t.Errorf("Words(VENDORNAME): %v", got)
	}
	if got := Words("WHENDUE"); !reflect.DeepEqual(got, []string{"due"}) {
		t.Errorf("Words(WHENDUE): %v", got)
	}
	// A compound word that would split misleadingly stays whole.
	if got := Words("mailboxId"); !reflect.DeepEqual(got, []string{"mailbox", "id"}) {
		t.Errorf("Words(mailboxId): %v", got)
	}
	// Who created it, and with what, are not when.
	if got := Words("created_by"); !reflect.DeepEqual(got, []string{"created", "author"}) {
		t.Errorf("Words(created_by): %v", got)
	}
	if got := Words("created_with"); !reflect.DeepEqual(got, []string{"created", "tool"}) {
		t.Errorf("Words(created_with): %v", got)
	}
	// "number of pieces" counts pieces; it is not an identifier.
	if got := Words("numberOfPieces"); !reflect.DeepEqual(got, []string{"count", "piece"}) {
		t.Errorf("Words(numberOfPieces): %v", got)
	}
}

func TestBuiltinSimilarity(t *testing.T) {
	b := Builtin{}
	sim := func(a, c string) float64 {
		v, _ := b.Embed(context.Background(), []string{a, c})
		return Cosine(v[0], v[1])
	}
	pairs := []struct{ near, far [2]string }{
		{[2]string{"zip", "postal_code"}, [2]string{"zip", "phone_number"}},
		{[2]string{"clientEmail", "customer_email"}, [2]string{"clientEmail", "customer_name"}},
		{[2]string{"qty", "quantity"}, [2]string{"qty", "unit_price"}},
		{[2]string{"adress", "address"}, [2]string{"adress", "amount"}},
		{[2]string{"telephone", "mobile"}, [2]string{"telephone", "email"}},
		// An ambiguous word leans both ways: a record's state is its status,
		// and an address's state is still its province.
		{[2]string{"state", "status"}, [2]string{"state", "country"}},
		{[2]string{"state", "province"}, [2]string{"state", "status"}},
		{[2]string{"topic", "subject"}, [2]string{"topic", "start_time"}},
		{[2]string{"numberOfPieces", "piece_count"}, [2]string{"numberOfPieces", "tracking_number"}},
		{[2]string{"hours", "duration"}, [2]string{"hours", "description"}},
		{[2]string{"location", "address"}, [2]string{"location", "amount"}},
	}
	for _, p := range pairs {
		n, f := sim(p.near[0], p.near[1]), sim(p.far[0], p.far[1])
		if n <= f {
			t.Errorf("%v (%.2f) should be closer than %v (%.2f)", p.near, n, p.far, f)
		}
	}
}

func TestCacheServesRepeats(t *testing.T) {
	c := NewCached(Builtin{}, 10)
	a, _ := c.Embed(context.Background(), []string{"x", "y"})
	b, _ := c.Embed(context.Background(), []string{"y", "x", "z"})
	if c.Hits() != 2 || Cosine(a[0], b[1]) < 0.999 {
		t.Fatalf("hits %d", c.Hits())
	}
}

// First and last name a person only before "name" (or alone): lastUpdated
// and last_4 say which one in time or order; a surname is a last name.
func TestFirstAndLastBeforeOtherWords(t *testing.T) {
	for in, want := range map[string][]string{
		"lastName":             {"last", "name"},
		"surname":              {"last", "name"},
		"forename":             {"first", "name"},
		"lastUpdated":          {"latest", "updated"},
		"last_4":               {"latest", "4"},
		"firstResponseAt":      {"earliest", "response"},
		"primaryCustomer.last": {"primary", "customer", "last"},
	} {
		if got := Words(in); !reflect.DeepEqual(got, want) {
			t.Errorf("Words(%q) = %v, want %v", in, got, want)
		}
	}
	if Concept("latest") == Concept("last") {
		t.Error("latest and last share a concept")
	}
}

// Words written apart that the lexicon knows joined are the compound
// (sub_total is a subtotal, Post_Code a postcode), unless the first word
// alone already means it (firstName stays first + name); "without X" is a
// net amount, not X.
func TestCompoundsAndWithout(t *testing.T) {
	for in, want := range map[string][]string{
		"sub_total":               {"subtotal"},
		"Post_Code":               {"postcode"},
		"e_mail":                  {"email"},
		"firstName":               {"first", "name"},
		"amountWithoutTax":        {"amount", "net"},
		"started_at":              {"started"},
		"Subtotal (tax excluded)": {"subtotal", "net"},
		"price tax exclusive":     {"price", "net"},
	} {
		if got := Words(in); !reflect.DeepEqual(got, want) {
			t.Errorf("Words(%q) = %v, want %v", in, got, want)
		}
	}
	if Concept("admit") != Concept("start") || Concept("discharge") != Concept("end") || Concept("assign") != Concept("assignee") {
		t.Error("a stay's admission is not its start, its discharge not its end, or assign not an assignee")
	}
	if Concept("net") != Concept("subtotal") || Concept("started") != Concept("start") {
		t.Error("net is not a subtotal, or started not a start")
	}
}

package mapper

import "testing"

func TestMemoryAdjusts(t *testing.T) {
	f := func(n string) *Field { x := field(n); return &x }
	m := NewMemory()
	// The same pair, reviewed: accepted raises it most, rejected lowers it
	// most; similarly named fields elsewhere lean the same way, less.
	m.Record(f("cust_email"), f("emailAddress"), true)
	same := m.adjust(f("cust_email"), f("emailAddress"), 0.3)
	similar := m.adjust(f("customerEmail"), f("email_address"), 0.3)
	if same < 0.7 || similar < 0.5 || similar >= same {
		t.Errorf("accepted pair scores %.2f, similarly named pair %.2f", same, similar)
	}
	m.Record(f("status"), f("email_status"), false)
	if got := m.adjust(f("status"), f("email_status"), 0.5); got > 0.25 {
		t.Errorf("rejected pair scores %.2f", got)
	}
	elsewhere := f("status")
	elsewhere.Path = "ticket.status"
	if got := m.adjust(elsewhere, f("email_status"), 0.5); got > 0.4 || got <= 0.25 {
		t.Errorf("a similarly named rejected pair scores %.2f", got)
	}
	// A renaming teaches a word association only once two reviews agree.
	m.Record(f("tier"), f("band"), true)
	if got := m.adjust(f("member_tier"), f("price_band"), 0.3); got != 0.3 {
		t.Errorf("one review moved an associated pair to %.2f", got)
	}
	m.Record(f("account_tier"), f("pricing_band"), true)
	if got := m.adjust(f("member_tier"), f("price_band"), 0.3); got <= 0.3 {
		t.Errorf("two reviews left the associated pair at %.2f", got)
	}
	if got := m.adjust(f("member_level"), f("price_band"), 0.3); got != 0.3 {
		t.Errorf("an unrelated pair moved to %.2f", got)
	}
	// Only what each field is (its last word) is read: tier before
	// another word does not make it a band.
	if got := m.adjust(f("tier_discount"), f("price_band"), 0.3); got != 0.3 {
		t.Errorf("a pair associated by a modifier moved to %.2f", got)
	}
}

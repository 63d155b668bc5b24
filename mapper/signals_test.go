package mapper

import (
	"math"
	"strings"
	"testing"

	"github.com/weftio/weft/ai"
)

func field(path string) Field {
	return Field{Path: path, Name: lastSegment(path), Parent: parentOf(path), Type: "string"}
}

// An id of the same entity, wherever the entity is named.
func TestRefersToTheSameEntity(t *testing.T) {
	cases := []struct {
		a, an, b, bn string
		want         bool
	}{
		{"fields.assignee.accountId", "jira issue", "assignee_id", "ticket", true}, // entity in the parent
		{"ClaimControlNumber", "claim", "claim_id", "payer claim", true},           // number ~ id
		{"id", "employee", "employee_no", "payroll row", true},                     // a record's own bare id
		{"attributes.id.value", "employee", "employee_no", "payroll row", true},    // wrappers skipped
		{"customer_id", "order", "product_id", "sales order", false},
		{"assignee_id", "ticket", "assignee_name", "issue", false}, // a name is not an id
		{"status", "order", "status", "order", false},
	}
	for _, c := range cases {
		a, b := field(c.a), field(c.b)
		if got := overlaps(refEntities(&a, c.an), refEntities(&b, c.bn)); got != c.want {
			t.Errorf("refers(%s in %s, %s in %s) = %v, want %v (entities %v / %v)", c.a, c.an, c.b, c.bn, got, c.want, refEntities(&a, c.an), refEntities(&b, c.bn))
		}
	}
}

func TestHeadClash(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"shipmentCost", "shipment_status", true},
		{"billing_city", "billingPostcode", true},
		{"email_status", "status", false}, // same head
		{"first_name", "firstName", false},
		{"shipment_id", "shipment_number", false}, // generic heads
		{"city", "country", false},                // nothing shared
	} {
		if got := headClash(ai.Concepts(ai.Words(c.a)), ai.Concepts(ai.Words(c.b))); got != c.want {
			t.Errorf("headClash(%s, %s) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}

// A pair under parents whose other children already match well gains;
// one with no evidence of its own, or at the top level, does not.
func TestStructuralAgreement(t *testing.T) {
	src := &Schema{Fields: []Field{field("address.city"), field("address.line1"), field("note")}}
	tgt := &Schema{Fields: []Field{field("location.city"), field("location.street"), field("memo")}}
	score := [][]float64{
		{0.9, 0.1, 0.0},
		{0.2, 0.35, 0.0},
		{0.0, 0.0, 0.25},
	}
	structural(src, tgt, score)
	if score[1][1] <= 0.35 {
		t.Fatalf("address.line1 -> location.street did not gain: %v", score[1][1])
	}
	if score[1][0] < 0.2 || score[0][0] != 0.9 && score[0][0] < 0.9 {
		t.Fatalf("scores fell: %v", score)
	}
	if score[0][1] != 0.1 {
		t.Fatalf("a pair with no evidence of its own gained: %v", score[0][1])
	}
	if score[2][2] != 0.25 {
		t.Fatalf("top-level fields gained: %v", score[2][2])
	}
}

// A generic leaf takes its name from the nearest parent that says something.
func TestLastSegmentSkipsGenericParents(t *testing.T) {
	for in, want := range map[string]string{
		"email[].value":       "email",
		"attributes.id.value": "id",
		"attributes.department.value.attributes.name": "department",
		"units.identifier":                            "units",
		"servicelevel.token":                          "servicelevel",
		"partner_id.name":                             "partner name",
	} {
		if got := lastSegment(in); got != want {
			t.Errorf("lastSegment(%q) = %q, want %q", in, got, want)
		}
	}
}

// The name that goes with an e-mail address is not an e-mail address.
func TestLabelLeafTakesNoKindFromItsParent(t *testing.T) {
	addr, name := field("attendees[].emailAddress.address"), field("attendees[].emailAddress.name")
	addr.Format = "email"
	if k := kindOf(&addr); k != "email" {
		t.Errorf("address kind %q", k)
	}
	if k := kindOf(&name); k != "" {
		t.Errorf("name kind %q, want none", k)
	}
}

// A description on one side is read against the other side's name.
func TestOneSidedDescription(t *testing.T) {
	id := field("id")
	id.Description = "The tracking number"
	pieces := field("details.numberOfPieces")
	tn := field("tracking_number")
	src := &Schema{Name: "DHL shipment", Fields: []Field{id, pieces}}
	tgt := &Schema{Name: "tracking status", Fields: []Field{tn}}
	sv, err := embedFields(t.Context(), ai.Builtin{}, src.Fields)
	if err != nil {
		t.Fatal(err)
	}
	tv, err := embedFields(t.Context(), ai.Builtin{}, tgt.Fields)
	if err != nil {
		t.Fatal(err)
	}
	annotate(sv, src)
	annotate(tv, tgt)
	with := features(&id, &tn, sv[0], tv[0])
	without := features(&pieces, &tn, sv[1], tv[0])
	if !with.hasDesc || with.desc < 0.5 || without.hasDesc {
		t.Fatalf("desc signal: with %+v, without %+v", with, without)
	}
	if combine(with) <= combine(without) {
		t.Errorf("the described id (%.3f) should beat number of pieces (%.3f) for tracking_number", combine(with), combine(without))
	}
}

// created_by holds a person, not a date.
func TestCreatedAtIsADate(t *testing.T) {
	f := field("created_at")
	if k := kindOf(&f); k != "date" {
		t.Errorf("kindOf(created_at) = %q", k)
	}
}

func TestNestedSummaryIsItsParentsLabel(t *testing.T) {
	// A nested summary is its parent's label (PagerDuty's priority.summary).
	if got := lastSegment("priority.summary"); got != "priority" {
		t.Errorf("lastSegment(priority.summary) = %q", got)
	}
}

// A yes/no flag and a state whose example values name it: accountEnabled
// is whether the status is ACTIVE, and the conversion says so.
func TestFlagFromState(t *testing.T) {
	status := field("status")
	status.Examples = []any{"ACTIVE", "SUSPENDED"}
	enabled := field("accountEnabled")
	enabled.Type = "boolean"
	if v := flagState(&enabled, &status); v != "ACTIVE" {
		t.Fatalf("flagState = %q", v)
	}
	other := field("status")
	other.Examples = []any{"OPEN", "CLOSED"}
	if v := flagState(&enabled, &other); v != "" {
		t.Fatalf("flagState with no matching value = %q", v)
	}
	src := &Schema{Name: "Okta user", Fields: []Field{status, field("profile.login")}}
	tgt := &Schema{Name: "Graph user", Fields: []Field{enabled, field("userPrincipalName")}}
	// The rule is a signal of the first matcher's blend (the learned
	// model weighs it among others): that blend pairs them, and the
	// conversion reads the state.
	if got := legacySuggested(t, src, tgt); got["accountEnabled"] != "status" {
		t.Fatalf("accountEnabled <- %q, want status", got["accountEnabled"])
	}
	if e := convert(&src.Fields[0], &tgt.Fields[0]); e != `src.status.lowerAscii() == "active"` {
		t.Fatalf("expr %s", e)
	}
}

// A full name is made from first + last only when the source has no full
// name of its own beside them (a display name fills it 1:1).
func TestNoFullNameFromPartsBesideADisplayName(t *testing.T) {
	tgt := &Schema{Name: "user", Fields: []Field{field("displayName"), field("givenName"), field("surname")}}
	parts := []Field{field("profile.firstName"), field("profile.lastName")}
	for _, withDisplay := range []bool{false, true} {
		fs := append([]Field(nil), parts...)
		if withDisplay {
			fs = append(fs, field("profile.displayName"))
		}
		res, err := Suggest(t.Context(), &Schema{Name: "person", Fields: fs}, tgt, Options{})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, s := range res.Suggestions {
			if s.Target == "displayName" {
				got = s.Sources
			}
		}
		want := []string{"profile.firstName", "profile.lastName"}
		if withDisplay {
			want = []string{"profile.displayName"}
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("display name present %v: displayName <- %v, want %v", withDisplay, got, want)
		}
	}
}

// custom_id and external_id say what kind of id they are, not whose: a
// bare id is not penalised against them as it is against manager_id.
func TestKindOfIdIsNotAnotherEntity(t *testing.T) {
	own := map[string]bool{"task": true}
	if bareVsQualified([]string{"id"}, ai.Concepts(ai.Words("custom_id")), own) {
		t.Error("custom_id taken for another entity's id")
	}
	if !bareVsQualified([]string{"id"}, ai.Concepts(ai.Words("manager_id")), own) {
		t.Error("manager_id not taken for another entity's id")
	}
}

// A task's or a product's own name is its title (ClickUp's name, Jira's
// summary; WooCommerce's name, Shopify's title); a person's title is a job
// title, not a name.
func TestTitledRecordsName(t *testing.T) {
	vecs := func(schema string, fs ...Field) []fieldVecs {
		sc := &Schema{Name: schema, Fields: fs}
		vs, err := embedFields(t.Context(), ai.Builtin{}, sc.Fields)
		if err != nil {
			t.Fatal(err)
		}
		annotate(vs, sc)
		return vs
	}
	name, summary, title := field("name"), field("fields.summary"), field("title")
	for _, c := range []struct {
		schema string
		other  Field
		want   bool
	}{
		{"ClickUp task", summary, true},
		{"WooCommerce product", title, true},
		{"Okta user", title, false},
		{"HubSpot contact", title, false},
	} {
		nv := vecs(c.schema, name)
		ov := vecs("other", c.other)
		if got := titledName(&name, nv[0], ov[0]); got != c.want {
			t.Errorf("%s: name ~ %s = %v, want %v", c.schema, c.other.Path, got, c.want)
		}
	}
}

// A record's own date (TxnDate, DocDate, an order's orderDate) is when it
// was made; a date that says more (a due date, a shipping date) is not.
func TestRecordDateIsItsCreation(t *testing.T) {
	vec := func(schema, name string) fieldVecs {
		sc := &Schema{Name: schema, Fields: []Field{field(name)}}
		vs, err := embedFields(t.Context(), ai.Builtin{}, sc.Fields)
		if err != nil {
			t.Fatal(err)
		}
		annotate(vs, sc)
		return vs[0]
	}
	for _, c := range []struct {
		schema, name  string
		date, created bool
	}{
		{"QuickBooks invoice", "TxnDate", true, false},
		{"SAP order", "DocDate", true, false},
		{"Shopify order", "orderDate", true, false},
		{"SAP order", "DocDueDate", false, false},
		{"Shopify order", "RequestedShippingDate", false, false},
		{"Stripe invoice", "created", false, true},
		{"ERP order", "OrderCreationDate", false, true},
		{"ERP order", "customer_created_at", false, false},
	} {
		v := vec(c.schema, c.name)
		if recordDate(v) != c.date || createdStamp(v) != c.created {
			t.Errorf("%s in %s: record date %v, creation %v", c.name, c.schema, recordDate(v), createdStamp(v))
		}
	}
}

// A header field and a line item's field (one value per record against one
// per list item) clash; two fields on the same level do not; a clash
// scales the pair's score.
func TestListClash(t *testing.T) {
	vs := func(fs ...Field) []fieldVecs {
		v, err := embedFields(t.Context(), ai.Builtin{}, fs)
		if err != nil {
			t.Fatal(err)
		}
		annotate(v, &Schema{Name: "invoice", Fields: fs})
		return v
	}
	head, line := field("DESCRIPTION"), field("ITEMS[].DESCRIPTION")
	tHead, tLine := field("InvoiceDescription"), field("Lines[].Description")
	hv, lv, thv, tlv := vs(head), vs(line), vs(tHead), vs(tLine)
	if f := features(&line, &tHead, lv[0], thv[0]); !f.listClash {
		t.Error("a line item against a header field: no clash")
	}
	if f := features(&line, &tLine, lv[0], tlv[0]); f.listClash {
		t.Error("two line items clash")
	}
	// A list of phones (addresses, e-mails) commonly flattens into one.
	phones, primary := field("Phones[].PhoneNumber"), field("PrimaryPhone.FreeFormNumber")
	pv, prv := vs(phones), vs(primary)
	if f := features(&phones, &primary, pv[0], prv[0]); f.listClash {
		t.Error("a phone list against a primary phone clashes")
	}
	// One assignee, wrapped in a list on the other side.
	many, one := field("assignees[].id"), field("fields.assignee.accountId")
	mv, ov := vs(many), vs(one)
	if f := features(&one, &many, ov[0], mv[0]); f.listClash {
		t.Error("assignees[] against an assignee clashes")
	}
	f := features(&head, &tHead, hv[0], thv[0])
	plain := combine(f)
	f.listClash = true
	if got := combine(f); math.Abs(got-plain*par.Blend.ListClash) > 1e-9 {
		t.Errorf("clash scores %.4f, want %.4f", got, plain*par.Blend.ListClash)
	}
}

// A description that says what the other field is named speaks for the
// name: externalReference, "the channel's reservation id", is filled from
// reservation_id.
func TestDescriptionSpeaksForTheName(t *testing.T) {
	ext := field("externalReference")
	ext.Description = "the channel's reservation id"
	src := &Schema{Name: "Booking.com reservation", Fields: []Field{field("reservation_id"), field("status")}}
	tgt := &Schema{Name: "PMS reservation", Fields: []Field{ext, field("reservationStatus")}}
	// A rule of the first matcher's blend (one signal of the learned model).
	if got := legacySuggested(t, src, tgt); got["externalReference"] != "reservation_id" {
		t.Fatalf("externalReference <- %q, want reservation_id", got["externalReference"])
	}
}

// legacySuggested is the first matcher's blend alone, assigned 1:1 at its
// old threshold (0.3): what the rules it holds decide before the learned
// model weighs them with the general signals.
func legacySuggested(t *testing.T, src, tgt *Schema) map[string]string {
	t.Helper()
	if _, err := finish(src); err != nil {
		t.Fatal(err)
	}
	if _, err := finish(tgt); err != nil {
		t.Fatal(err)
	}
	sc, err := legacyScores(t.Context(), src, tgt, Options{Embedder: defaultEmbedder})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for j, i := range Propose(sc.legacy, 0.3, 2) {
		got[tgt.Fields[j].Path] = src.Fields[i].Path
	}
	return got
}

func suggested(t *testing.T, src, tgt *Schema) map[string]string {
	t.Helper()
	res, err := Suggest(t.Context(), src, tgt, Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, s := range res.Suggestions {
		got[s.Target] = strings.Join(s.Sources, "+")
	}
	return got
}

// A company's registration number is not the company: the bare entity
// word is its name.
func TestBareEntityIsNotItsNumber(t *testing.T) {
	src := &Schema{Name: "Paddle customer", Fields: []Field{field("business.company_number"), field("business.name"), field("email")}}
	tgt := &Schema{Name: "Recurly account", Fields: []Field{field("company"), field("email")}}
	src.Fields[1].Name = "business"
	if got := legacySuggested(t, src, tgt); got["company"] != "business.name" {
		t.Fatalf("company <- %q, want business.name", got["company"])
	}
	// Bare entity fields whose values are codes stay references.
	if bareEntityVsCode([]string{"customer"}, []string{"customer", "number"}, &Field{Name: "customer", Type: "string", Examples: []any{"C-10023"}}) {
		t.Error("a customer field holding codes was read as a name")
	}
}

// A target documented, word for word, as the source's name wins over
// targets that share only a word with it.
func TestVerbatimDescriptionBeatsASharedWord(t *testing.T) {
	qty := field("product_uom_qty")
	qty.Type, qty.Description = "number", "Quantity"
	del, inv := field("qty_delivered"), field("qty_invoiced")
	del.Type, inv.Type = "number", "number"
	src := &Schema{Name: "WooCommerce line", Fields: []Field{{Path: "quantity", Name: "quantity", Type: "integer"}}}
	tgt := &Schema{Name: "Odoo order line", Fields: []Field{del, qty, inv}}
	if got := suggested(t, src, tgt); got["product_uom_qty"] != "quantity" {
		t.Fatalf("suggestions %v, want product_uom_qty <- quantity", got)
	}
}

// Three capitals are a currency only when ISO 4217 lists them.
func TestCurrencyCodesAreISO(t *testing.T) {
	for s, want := range map[string]string{"EUR": "currency", "USD": "currency", "GHH": "", "ABC": ""} {
		if got := valueClass(s); (got == "currency") != (want == "currency") {
			t.Errorf("valueClass(%q) = %q", s, got)
		}
	}
}

// A location's display name is the location's name, not a person's: no
// first + last composite fills it, and the source's location does.
func TestThingsDisplayName(t *testing.T) {
	src, err := FromFieldList([]byte(`{"name":"Acuity appointment","fields":[{"name":"firstName","type":"string"},{"name":"lastName","type":"string"},{"name":"location","type":"string"},{"name":"email","type":"string"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	tgt, err := FromFieldList([]byte(`{"name":"Graph event","fields":[{"name":"location.displayName","type":"string"},{"name":"attendees[].emailAddress.address","type":"string"},{"name":"subject","type":"string"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := suggested(t, src, tgt); got["location.displayName"] != "location" {
		t.Fatalf("location.displayName <- %q, want location", got["location.displayName"])
	}
	if tgt.Fields[0].Name != "location" {
		t.Errorf("location.displayName is named %q", tgt.Fields[0].Name)
	}
	p, _ := FromFieldList([]byte(`{"name":"user","fields":[{"name":"profile.displayName","type":"string"},{"name":"from.user.displayName","type":"string"}]}`))
	for _, f := range p.Fields {
		if f.Name != "displayName" {
			t.Errorf("a person's %s is named %q, want displayName", f.Path, f.Name)
		}
	}
}

// Listed values that two fields share say they hold the same thing, even
// when their names have nothing in common.
func TestSharedEnumValues(t *testing.T) {
	ch := Field{Path: "channel", Name: "channel", Type: "string", Examples: []any{"Email", "Phone", "Web"}}
	cat := Field{Path: "category", Name: "category", Type: "string"}
	typ := Field{Path: "type", Name: "type", Type: "string", Enum: []any{"email", "phone", "chat"}}
	tags := Field{Path: "tags[]", Name: "tags", Type: "string"}
	if f := features(&ch, &typ, fieldVecs{}, fieldVecs{}); !f.hasVal || f.val < 0.8 || f.name < 0.6 {
		t.Fatalf("channel vs type: %+v", f)
	}
	// Help Scout's conversation has tags for Zoho's category: with both
	// there, the channel's values decide the type.
	src := &Schema{Name: "Zoho Desk ticket", Fields: []Field{cat, ch}}
	tgt := &Schema{Name: "Help Scout conversation", Fields: []Field{typ, tags}}
	if got := legacySuggested(t, src, tgt); got["type"] != "channel" {
		t.Fatalf("type <- %q, want channel", got["type"])
	}
}

// A time of day is not a point in time: it does not fill a timestamp.
func TestClockIsNotATimestamp(t *testing.T) {
	for _, s := range []string{"11:00am", "9:30 PM", "14:05", "07:15:00"} {
		if c := valueClass(s); c != "clock" {
			t.Errorf("valueClass(%q) = %q", s, c)
		}
	}
	clock := Field{Path: "time", Name: "time", Type: "string", Examples: []any{"11:00am"}}
	stamp := Field{Path: "lastModifiedDateTime", Name: "lastModifiedDateTime", Type: "string", Format: "date-time"}
	plain := Field{Path: "time", Name: "time", Type: "string"}
	if a, b := features(&clock, &stamp, fieldVecs{kind: kindOf(&clock)}, fieldVecs{kind: kindOf(&stamp)}), features(&plain, &stamp, fieldVecs{kind: kindOf(&plain)}, fieldVecs{kind: kindOf(&stamp)}); a.typ >= b.typ {
		t.Fatalf("a clock time is as good a timestamp (%.2f) as an unknown time (%.2f)", a.typ, b.typ)
	}
}

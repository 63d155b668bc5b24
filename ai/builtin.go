package ai

import (
	"context"
	"hash/fnv"
	"math"
	"strings"
	"unicode"
)

// Builtin is an embedder for field names and short descriptions that needs
// no model and no network: words are split (camelCase, snake_case, kebab,
// digits), abbreviations expanded (qty, amt, addr, dob …), mapped onto
// business concepts through a synonym lexicon (customer/client/account,
// zip/postal code, phone/tel/mobile …), and hashed with character trigrams
// (for misspellings) into a fixed-size vector.
type Builtin struct {
	Dim int // default 1024
}

// Name implements Embedder.
func (Builtin) Name() string { return "builtin-v4" }

// Embed implements Embedder.
func (b Builtin) Embed(_ context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, t := range texts {
		out[i] = b.vector(t)
	}
	return out, nil
}

func (b Builtin) dim() int {
	if b.Dim <= 0 {
		return 1024
	}
	return b.Dim
}

func hashIndex(s string, dim int) (int, float32) {
	h := fnv.New64a()
	h.Write([]byte(s))
	v := h.Sum64()
	sign := float32(1)
	if v&(1<<63) != 0 {
		sign = -1
	}
	return int(v % uint64(dim)), sign
}

func (b Builtin) vector(text string) []float32 {
	dim := b.dim()
	v := make([]float32, dim)
	add := func(feature string, w float32) {
		i, s := hashIndex(feature, dim)
		v[i] += s * w
	}
	words := Words(text)
	for _, w := range words {
		add("w:"+w, 1)
		if c, ok := concept[w]; ok {
			if o, ok := alsoConcept[w]; ok {
				// An ambiguous word leans both ways, more to its first sense.
				add("c:"+c, 1.6*0.8)
				add("c:"+o, 1.6*0.6)
			} else {
				add("c:"+c, 1.6)
			}
		}
		// Character trigrams: "adress" still lands near "address".
		p := "^" + w + "$"
		if len(w) >= 3 {
			n := float32(len(p) - 2)
			for j := 0; j+3 <= len(p); j++ {
				add("t:"+p[j:j+3], 0.9/float32(math.Sqrt(float64(n))))
			}
		}
	}
	for j := 0; j+1 < len(words); j++ {
		add("b:"+words[j]+"_"+words[j+1], 0.5)
	}
	var n float64
	for _, x := range v {
		n += float64(x) * float64(x)
	}
	if n > 0 {
		s := float32(1 / math.Sqrt(n))
		for i := range v {
			v[i] *= s
		}
	}
	return v
}

// Split breaks an identifier or phrase into lower-case words: camelCase,
// snake_case, kebab-case, dotted paths and digits all split.
func Split(s string) []string {
	var out []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			out = append(out, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	rs := []rune(s)
	for i, r := range rs {
		switch {
		case unicode.IsLetter(r):
			if len(cur) > 0 {
				prev := cur[len(cur)-1]
				// fooBar | FOOBar -> FOO Bar | foo2bar
				if unicode.IsUpper(r) && (unicode.IsLower(prev) || unicode.IsDigit(prev)) ||
					unicode.IsUpper(r) && unicode.IsUpper(prev) && i+1 < len(rs) && unicode.IsLower(rs[i+1]) ||
					unicode.IsDigit(prev) {
					flush()
				}
			}
			cur = append(cur, r)
		case unicode.IsDigit(r):
			if len(cur) > 0 && !unicode.IsDigit(cur[len(cur)-1]) {
				flush()
			}
			cur = append(cur, r)
		default:
			flush()
		}
	}
	flush()
	return out
}

// Words splits s, expands abbreviations and drops filler words. Run-on
// lower-case words ("jobtitle", "createdon") are split into known words.
func Words(s string) []string {
	var out []string
	var parts []string
	for _, w := range Split(s) {
		parts = append(parts, segment(w)...)
	}
	skip := false
	for i, w := range parts {
		if skip {
			skip = false
			continue
		}
		if i+1 < len(parts) {
			// A compound written apart (sub_total, Post_Code, e_mail,
			// AddressLine1) is the compound, where the lexicon knows it as
			// something the first word alone is not.
			if c, ok := concept[w+parts[i+1]]; ok && c != concept[w] {
				out = append(out, w+parts[i+1])
				skip = true
				continue
			}
		}
		if a, ok := agentWord[w]; ok && i > 0 {
			// created_by is who created it, created_with what with: not when.
			out = append(out, a)
			continue
		}
		if stop[w] {
			continue
		}
		if (w == "first" || w == "last") && i+1 < len(parts) && parts[i+1] != "name" && abbrev[parts[i+1]] != "name" {
			// last_name is a surname, lastUpdated and last_4 are not: before
			// a word other than "name", first and last say which one in time
			// or order.
			out = append(out, orderWord[w])
			continue
		}
		if (w == "without" || w == "excluding" || w == "excl" || w == "ex") && i+1 < len(parts) && i > 0 {
			// amountWithoutTax is the net amount, not a tax.
			out = append(out, "net")
			skip = true
			continue
		}
		if (w == "excluded" || w == "exclusive") && len(out) > 0 && i > 0 {
			// "Subtotal (tax excluded)": the same net reading, written after.
			out[len(out)-1] = "net"
			continue
		}
		if (w == "number" || w == "num" || w == "no") && i+1 < len(parts) && parts[i+1] == "of" {
			out = append(out, "count") // "number of pieces" is a count, not an identifier
			continue
		}
		if e, ok := abbrev[w]; ok {
			for _, x := range strings.Fields(e) {
				out = append(out, x)
			}
			continue
		}
		out = append(out, singular(w))
	}
	return out
}

// Concepts maps words onto business concepts (customer, postal_code …).
func Concepts(words []string) []string {
	var out []string
	for _, w := range words {
		if c, ok := concept[w]; ok {
			out = append(out, c)
		} else {
			out = append(out, w)
		}
	}
	return out
}

// Concept returns the concept of one word (the word itself when it has none).
func Concept(w string) string {
	if c, ok := concept[w]; ok {
		return c
	}
	return w
}

// vocab holds the words segment splits run-on words into.
var vocab = map[string]bool{}

// initVocab runs after the concept lexicon is built (its words are
// vocabulary too: "vendorname" is vendor + name).
func initVocab() {
	for w := range concept {
		vocab[w] = true
	}
	for _, e := range abbrev {
		for _, w := range strings.Fields(e) {
			vocab[w] = true
		}
	}
	for _, w := range strings.Fields(`job title name deal stage close date created on at by mobile phone email address owner lifecycle source code number
		postal first last birth street city lead status type account contact company home work office business primary secondary billing shipping
		mailing line one two total sub tax net gross unit price amount due issue start end hire term pay rate hour week month year day time zone
		group level parent child user team member role department manager employee person people full middle given family display short long
		description summary comment note label tag category value text id key ref reference external internal order item product sku quantity
		invoice payment method currency country state region county zip post office box latitude longitude url web site page link file image photo
		opportunity probability pipeline stage forecast amount expected revenue industry employees annual size score rating priority severity
		visit patient provider claim member plan policy insurance service procedure diagnosis facility place status state delivery tracking carrier
		weight height length width warehouse location store channel campaign medium content keyword language locale gender marital birth death
		when
		mailbox inbox outbox password database workspace headline checkbox software hardware network workflow
		pipeline dashboard bookmark notebook payload metadata lifecycle overdue overtime newsletter storefront
		shortcode passport handbook paycheck paystub payroll payee payer taxpayer household homeowner landlord`) {
		vocab[w] = true
	}
}

// segment splits a run-on lower-case word into known words when it is
// not one itself ("jobtitle" -> job title); otherwise returns it.
func segment(w string) []string {
	if len(w) < 6 || vocab[w] || concept[w] != "" || abbrev[w] != "" {
		return []string{w}
	}
	var best []string
	// Two or three known words, longest pieces first.
	for i := len(w) - 2; i >= 2; i-- {
		a, rest := w[:i], w[i:]
		if !vocab[a] && abbrev[a] == "" {
			continue
		}
		if vocab[rest] || abbrev[rest] != "" {
			return []string{a, rest}
		}
		for j := len(rest) - 2; j >= 2 && best == nil; j-- {
			if (vocab[rest[:j]] || abbrev[rest[:j]] != "") && (vocab[rest[j:]] || abbrev[rest[j:]] != "") {
				best = []string{a, rest[:j], rest[j:]}
			}
		}
	}
	if best != nil {
		return best
	}
	return []string{w}
}

func singular(w string) string {
	switch {
	case len(w) > 4 && strings.HasSuffix(w, "ies"):
		return w[:len(w)-3] + "y"
	case len(w) > 4 && (strings.HasSuffix(w, "ses") || strings.HasSuffix(w, "xes") || strings.HasSuffix(w, "ches") || strings.HasSuffix(w, "shes")):
		return w[:len(w)-2]
	case len(w) > 3 && strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss") && !strings.HasSuffix(w, "us") && !strings.HasSuffix(w, "is"):
		return w[:len(w)-1]
	}
	return w
}

var stop = map[string]bool{"the": true, "a": true, "an": true, "of": true, "for": true, "to": true, "in": true, "on": true, "by": true,
	"with": true, "is": true, "at": true, "this": true, "that": true, "and": true, "or": true, "be": true, "as": true, "its": true, "it": true, "when": true}

// orderWord: first and last before a word other than "name".
var orderWord = map[string]string{"first": "earliest", "last": "latest"}

// agentWord: after another word, "by" and "with" name who and what.
var agentWord = map[string]string{"by": "author", "with": "tool"}

// abbrev expands abbreviations common in field names.
var abbrev = map[string]string{
	"qty": "quantity", "qnty": "quantity", "amt": "amount", "addr": "address", "adr": "address", "dob": "birth date", "bday": "birth date",
	"num": "number", "no": "number", "nbr": "number", "nr": "number", "desc": "description", "descr": "description", "cust": "customer",
	"acct": "account", "acc": "account", "tel": "telephone", "ph": "phone", "fname": "first name", "lname": "last name", "mname": "middle name", "surname": "last name", "forename": "first name",
	"fn": "first name", "ln": "last name", "zip": "zip", "zipcode": "zip", "postcode": "postal", "dt": "date", "ts": "timestamp", "tstamp": "timestamp",
	"org": "organization", "co": "company", "dept": "department", "emp": "employee", "empl": "employee", "mgr": "manager", "pct": "percent",
	"perc": "percent", "prc": "price", "ccy": "currency", "cur": "currency", "curr": "currency", "cnt": "count", "ref": "reference", "tx": "transaction",
	"txn": "transaction", "trx": "transaction", "inv": "invoice", "ord": "order", "prod": "product", "uom": "unit measure", "msg": "message",
	"tkt": "ticket", "prio": "priority", "pri": "priority", "usr": "user", "img": "image", "lat": "latitude", "lng": "longitude", "lon": "longitude",
	"yr": "year", "mo": "month", "wk": "week", "hr": "hour", "min": "minute", "sec": "second", "st": "street", "str": "street", "bldg": "building",
	"apt": "apartment", "ste": "suite", "cty": "city", "ctry": "country", "cntry": "country", "prov": "province", "reg": "region", "id": "id",
	"uid": "id", "uuid": "id", "gid": "id", "iid": "id", "guid": "id", "pk": "id", "ssn": "social security number", "tin": "tax id", "vat": "tax", "gst": "tax",
	"sal": "salary", "comp": "compensation", "hrs": "hour", "dur": "duration", "stat": "status", "sts": "status", "cat": "category",
	"grp": "group", "lvl": "level", "loc": "location", "wh": "warehouse", "whse": "warehouse", "ship": "shipping", "shp": "shipping",
	"del": "delivery", "dlv": "delivery", "trk": "tracking", "pmt": "payment", "pymt": "payment", "pay": "payment", "bal": "balance",
	"disc": "discount", "subtot": "subtotal", "tot": "total", "ttl": "total", "avg": "average", "max": "maximum", "mob": "mobile",
	"cell": "mobile", "fax": "fax", "web": "website", "url": "url", "www": "website", "info": "information", "cmt": "comment", "rmk": "remark",
	"created": "created", "upd": "updated", "mod": "modified", "crt": "created", "dx": "diagnosis", "rx": "prescription", "med": "medication",
	"meds": "medication", "pt": "patient", "dr": "doctor", "md": "doctor", "ins": "insurance", "mrn": "medical record number",
	"opp": "opportunity", "oppty": "opportunity", "proj": "project", "cnt_": "count", "eta": "estimated arrival", "etd": "estimated departure",
	"po": "purchase order", "so": "sales order", "sku": "sku", "upc": "barcode", "ean": "barcode", "gtin": "barcode", "wt": "weight",
	"cpt": "procedure", "hcpcs": "procedure", "npi": "provider id", "vin": "vehicle identification number", "icd10": "diagnosis", "pid": "patient id",
	"kg": "kilogram", "tz": "time zone", "lang": "language", "headcount": "employee count", "pic": "picture", "lb": "pound", "lbs": "pound", "dim": "dimension", "dims": "dimension",
}

// alsoConcept is a second concept of an ambiguous word: a "state" is a
// province in an address and a status on a record; an "address" a street
// line and a location; an "hour" a time of day and a duration; a "line" a
// line item and an address line (FHIR's address.line).
var alsoConcept = map[string]string{"state": "status", "address": "address", "hour": "duration", "line": "street", "expiration": "termination", "expiry": "termination"}

// concept maps synonyms to one concept name.
var concept = map[string]string{}

func init() {
	groups := [][]string{
		{"customer", "client", "buyer", "purchaser", "consumer", "patron", "shopper", "partner", "party"},
		{"company", "organization", "organisation", "business", "firm", "employer", "enterprise", "corporation", "vendor", "supplier"},
		{"account"},
		{"zip", "postal", "postcode", "zipcode"},
		{"phone", "telephone", "mobile", "cellphone", "telecom", "landline"},
		{"email", "mail", "e-mail", "emailaddress"},
		{"first", "given", "forename", "firstname"},
		{"last", "family", "surname", "lastname"},
		{"street", "line1", "addressline", "address", "addr1"},
		{"city", "town", "locality", "municipality"},
		{"state", "province", "region", "county", "territory"},
		{"country", "nation"},
		{"amount", "total", "sum", "grand", "gross"},
		{"price", "cost", "rate", "fee", "charge", "spend"},
		{"quantity", "count", "piece", "qty"},
		{"created", "creation", "inserted", "opened", "registered", "signup", "add", "added", "create"},
		{"updated", "modified", "changed", "edited", "change", "modification"},
		{"date", "day", "dated"},
		{"timestamp", "time", "datetime", "at"},
		{"description", "details", "detail", "notes", "note", "comment", "remark", "body", "memo", "agenda"},
		{"title", "subject", "headline", "heading", "summary", "topic"},
		{"status", "stage", "phase", "condition"},
		{"owner", "assignee", "assigned", "assign", "responsible", "rep", "representative", "salesperson", "agent", "host", "organizer", "organiser"},
		{"id", "identifier", "key"},
		{"employee", "worker", "staff", "personnel", "associate", "member"},
		{"salary", "wage", "compensation", "earning", "payrate"},
		{"invoice", "bill", "billing"},
		{"order", "purchase", "booking"},
		{"shipment", "delivery", "consignment", "parcel", "package"},
		{"tracking", "waybill", "awb"},
		{"carrier", "courier", "shipper", "transporter"},
		{"ticket", "issue", "case", "incident", "request"},
		{"priority", "severity", "urgency", "importance"},
		{"deadline", "expiry", "expiration"},
		{"product", "item", "article", "part", "good", "merchandise"},
		{"discount", "rebate", "reduction"},
		{"tax", "vat", "gst"},
		{"currency", "ccy"},
		{"birth", "born", "birthday"},
		{"gender", "sex"},
		{"department", "division", "team"},
		{"manager", "supervisor", "boss", "lead", "reports", "report"},
		{"hire", "start", "joined", "join", "onboard", "commenced", "activated", "activation", "began", "begin", "started", "starting", "admit", "admitted"},
		{"termination", "terminated", "end", "ended", "ending", "finished", "leave", "exit", "separation", "discharge", "discharged"},
		{"patient", "beneficiary", "insured"},
		{"doctor", "physician", "provider", "practitioner", "clinician"},
		{"diagnosis", "diagnose", "icd"},
		{"medication", "drug", "prescription", "medicine"},
		{"website", "homepage", "url", "web", "domain", "link", "href", "permalink"},
		{"name", "fullname"},
		{"job", "position", "role", "occupation", "designation"},
		{"industry", "sector", "vertical"},
		{"revenue", "turnover", "sales"},
		{"opportunity", "deal", "prospect", "lead"},
		{"resolved", "solved", "fixed", "completed", "done", "closed", "resolution"},
		{"latest", "recent", "newest"},
		{"close", "closing", "won"},
		{"probability", "likelihood", "chance", "confidence"},
		{"note", "annotation"},
		{"weight", "mass"},
		{"line", "entry", "row"},
		{"subtotal", "net"},
		{"paid", "settled"},
		{"payment", "remittance", "settlement"},
		{"balance", "outstanding", "remaining", "owed", "due"},
		{"source", "origin", "channel", "referrer", "via"},
		{"tag", "label", "category", "type", "kind", "class"},
		{"address", "location", "residence", "site", "office"},
		{"number", "no", "nr"},
		{"message", "text", "content"},
		{"author", "creator", "reporter", "submitter", "requester", "requestor"},
		{"estimated", "expected", "projected", "forecast"},
		{"arrival", "arrive", "eta"},
		{"departure", "depart", "dispatch", "dispatched", "shipped"},
		{"warehouse", "depot", "fulfillment", "fulfilment"},
		{"sku", "stockkeeping"},
		{"barcode", "upc", "ean", "gtin"},
		{"active", "enabled", "live"},
		{"insurance", "coverage", "policy", "plan"},
		{"allergy", "allergies", "intolerance"},
		{"visit", "encounter", "appointment", "admission"},
		{"hourly", "hour"},
		{"bank", "banking"},
		{"duration", "elapsed"},
		{"history", "event", "activity", "timeline", "log", "checkpoint"},
		{"attendee", "participant", "invitee", "guest"},
		{"recipient", "receiver", "addressee", "consignee"},
		{"coupon", "voucher", "promo", "promocode"},
		{"donation", "gift", "contribution"},
		{"attachment", "file", "document", "upload"},
		{"conversation", "thread", "chat"},
		{"reason", "cause", "explanation"},
		{"reply", "response", "answer"},
		{"frequency", "interval", "cadence", "recurrence"},
		{"observation", "measurement", "reading"},
		{"language", "locale"},
		{"image", "photo", "picture", "avatar", "thumbnail"},
		{"deleted", "removed", "trashed"},
		{"salutation", "prefix", "honorific"},
		{"slug", "handle"},
		{"routing", "sort", "aba", "iban"},
		{"social", "ssn"},
		{"marital", "married"},
		{"nationality", "citizenship"},
	}
	for _, g := range groups {
		for _, w := range g {
			if _, taken := concept[w]; !taken {
				concept[w] = g[0]
			}
		}
	}
	initVocab()
}

package nl2flow

import "strings"

// The builtin compiler's vocabulary: how integration requests name
// actions, records, systems and events. Words, not sentences: the
// compiler combines them.

var stop = set("a an the of to in on at for and or but with from by into onto our my your their its his her this that these those it them they we i you me us is are be been was were gets get got has have had do does please could would can will should just also so any some all each every new one there here as about via")

// systemAliases: other words users use for a system kind.
var systemAliases = map[string][]string{
	"tracker": {"tracking"},
	"erp":     {"accounting"},
	"hr":      {"hris", "personnel"},
	"smtp":    {"email", "mail", "e-mail", "smtp"},
	"email":   {"email", "mail", "e-mail", "smtp"},
}

// actionVerbs maps a verb (base form) to a canonical action.
var actionVerbs = map[string]string{
	"create": "create", "add": "create", "open": "create", "make": "create", "log": "create", "register": "create",
	"raise": "create", "file": "create", "generate": "create", "build": "create", "spin": "create", "setup": "create",
	"hire": "create", "onboard": "create", "start": "create", "insert": "create",
	"update": "update", "change": "update", "set": "update", "mark": "update", "move": "update", "modify": "update",
	"edit": "update", "assign": "update", "archive": "update", "replace": "update", "sync": "update",
	"delete": "delete", "remove": "delete", "erase": "delete", "purge": "delete", "destroy": "delete", "wipe": "delete", "drop": "delete",
	"notify": "send", "tell": "send", "alert": "send", "post": "send", "send": "send", "message": "send", "ping": "send",
	"announce": "send", "email": "send", "mail": "send", "e-mail": "send", "share": "send", "inform": "send",
	"shoot": "send", "remind": "send", "dm": "send", "text": "send", "warn": "send", "forward": "send", "let": "send",
	"get": "get", "fetch": "get", "retrieve": "get", "find": "get", "lookup": "get", "look": "get", "read": "get", "load": "get", "pull": "get",
	"list": "list", "collect": "list", "gather": "list", "check": "list", "query": "list",
	"invoice": "invoice", "bill": "invoice",
	"reply": "respond", "respond": "respond", "answer": "respond", "return": "respond",
	"call": "request", "hit": "request", "request": "request", "trigger": "request",
	"show": "create", "shows": "create",
}

// objectWords maps a noun (singular) to the catalog object it names.
var objectWords = map[string]string{
	"opportunity": "opportunity", "deal": "opportunity", "opp": "opportunity",
	"account": "account", "company": "account", "organisation": "account", "organization": "account",
	"contact": "contact", "lead": "contact",
	"project": "project",
	"issue":   "issue", "ticket": "issue", "task": "issue", "bug": "issue", "todo": "issue",
	"channel": "channel", "room": "channel",
	"message": "message", "note": "message", "heads-up": "message", "headsup": "message", "announcement": "message",
	"reminder": "message", "welcome": "message", "post": "message", "notification": "message", "alert": "message",
	"email": "email", "mail": "email", "e-mail": "email",
	"customer": "customer", "client": "customer",
	"order": "sales order", "salesorder": "sales order",
	"invoice": "invoice", "bill": "invoice",
	"employee": "employee", "hire": "employee", "staff": "employee", "worker": "employee", "someone": "employee",
	"person": "employee", "starter": "employee", "colleague": "employee",
	"line": "line", "item": "line",
	"request": "request", "webhook": "request",
}

// eventWords are the participles and nouns of record events.
var eventWords = set("new created added comes arrives appears lands joins joined hired starts updated changed modified edited " +
	"closes closed won wins lost loses paid payed ships shipped overdue archived terminated leaves left fired cancelled canceled " +
	"confirmed approved escalated completed done finished resolved becomes moves moved hits goes marked submitted signed posted " +
	"created, voided void deleted removed")

// stateWords maps an event word to enum values it means, most specific first.
var stateWords = map[string][]string{
	"won": {"closed_won"}, "wins": {"closed_won"}, "closes": {"closed_won"}, "closed": {"closed_won", "done"}, "close": {"closed_won"},
	"lost": {"closed_lost"}, "loses": {"closed_lost"},
	"paid": {"paid"}, "payed": {"paid"},
	"ships": {"shipped"}, "shipped": {"shipped"}, "overdue": {"overdue"},
	"archived": {"archived"}, "terminated": {"terminated"}, "leaves": {"terminated"}, "fired": {"terminated"},
	"cancelled": {"cancelled"}, "canceled": {"cancelled"}, "confirmed": {"confirmed"},
	"completed": {"done"}, "finished": {"done"}, "resolved": {"done"}, "done": {"done"},
	"void": {"void"}, "voided": {"void"}, "draft": {"draft"}, "invoiced": {"invoiced"},
	"active": {"active"}, "todo": {"todo"}, "progress": {"in_progress"},
	"leave":         {"on_leave"},
	"qualification": {"qualification"}, "prospecting": {"prospecting"}, "proposal": {"proposal"}, "negotiation": {"negotiation"},
}

// knownVendors are product names users write; one that names no
// configured system is reported, never guessed at.
var knownVendors = set("salesforce hubspot pipedrive zoho dynamics jira asana trello clickup slack discord " +
	"zendesk freshdesk servicenow intercom sap netsuite odoo quickbooks xero sage workday bamboohr personio gusto adp " +
	"stripe shopify woocommerce magento github gitlab airtable dropbox twilio sendgrid mailchimp").m

var weekdays = map[string]string{"sunday": "0", "monday": "1", "tuesday": "2", "wednesday": "3", "thursday": "4", "friday": "5", "saturday": "6",
	"sun": "0", "mon": "1", "tue": "2", "tues": "2", "wed": "3", "thu": "4", "thurs": "4", "fri": "5", "sat": "6",
	"sundays": "0", "mondays": "1", "tuesdays": "2", "wednesdays": "3", "thursdays": "4", "fridays": "5", "saturdays": "6"}

// zones maps how people name time zones to IANA names.
var zones = map[string]string{
	"utc": "UTC", "gmt": "UTC", "cet": "CET", "cest": "CET", "berlin": "Europe/Berlin", "paris": "Europe/Paris",
	"london": "Europe/London", "uk": "Europe/London", "amsterdam": "Europe/Amsterdam", "madrid": "Europe/Madrid",
	"new york": "America/New_York", "eastern": "America/New_York", "est": "America/New_York", "edt": "America/New_York", "et": "America/New_York",
	"pacific": "America/Los_Angeles", "pst": "America/Los_Angeles", "pdt": "America/Los_Angeles", "pt": "America/Los_Angeles",
	"central": "America/Chicago", "cst": "America/Chicago", "chicago": "America/Chicago",
	"mountain": "America/Denver", "mst": "America/Denver", "denver": "America/Denver", "los angeles": "America/Los_Angeles",
	"san francisco": "America/Los_Angeles", "tokyo": "Asia/Tokyo", "jst": "Asia/Tokyo", "sydney": "Australia/Sydney",
	"singapore": "Asia/Singapore", "india": "Asia/Kolkata", "ist": "Asia/Kolkata", "dubai": "Asia/Dubai",
}

// englishWords are common words that show a request is in English (with
// the catalog's own vocabulary).
var englishWords = set("when whenever if then and or the a an to in on at for new create send post email notify every each day week " +
	"month hour minute is are be with from after before into of it them please all list update add make get tell let know that " +
	"this our we i you my me should would could can also only unless otherwise else morning night evening weekday daily hourly " +
	"time once someone somebody channel team message record records do don't dont never not nothing anything anyone " +
	"soon as upon via over through about there here where which who whom whose what that those these it's its " +
	"go goes going gone went come comes came shows show showed up down out into onto off again still already really actually " +
	"maybe perhaps sure okay ok thanks thank hey hi hello great nice possible able like want wants need needs keep keeps " +
	"receive receives received expose exposes endpoint called invoked starts started joins joined gets got become becomes " +
	"everyone everybody somewhere whatever whenever wherever twice week weeks day days month months year hours minutes " +
	"first second last next previous new old big small large high low more less much many few each every both either")

type wordSet struct{ m map[string]bool }

func set(s string) wordSet {
	m := map[string]bool{}
	for _, w := range strings.Fields(s) {
		m[w] = true
	}
	return wordSet{m}
}

func (w wordSet) has(s string) bool { return w.m[s] }

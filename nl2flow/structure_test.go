package nl2flow_test

import (
	"slices"
	"strings"
	"testing"
)

// Descriptions say what a workflow does in the third person: "it sends",
// "this workflow pulls … and logs". A named subject ("HR adds them") is
// an event, and a noun compound ("status updates") is no verb.
func TestThirdPersonVerbs(t *testing.T) {
	d := compile(t, "It watches the ERP and, upon a new invoice, immediately sends a detailed alert to the #billing chat channel.")
	if got := strings.Join(calls(d.Flow), " "); got != "chat.postMessage" || d.Flow.Trigger.Poll == nil || d.Flow.Trigger.Poll.Operation != "erp.listInvoices" {
		t.Fatalf("calls %q\n%s\n%v", got, d.YAML, d.NotUnderstood)
	}
	d = compile(t, "when we hire someone, HR adds them; open an issue in tracker project IT for their laptop")
	for _, c := range calls(d.Flow) {
		if c == "hr.hireEmployee" {
			t.Fatalf("'HR adds them' read as the flow's action:\n%s", d.YAML)
		}
	}
	d = compile(t, "post the tracker issues to #ops with status updates")
	for _, c := range calls(d.Flow) {
		if c == "tracker.updateIssue" {
			t.Fatalf("'status updates' read as a verb:\n%s", d.YAML)
		}
	}
}

// With no stated event, messages about a kind of record are sent as those
// records appear or change: "tracker task notifications", "notify …
// about past-due invoices" poll that record. A stated schedule wins.
func TestMessagesAboutRecordsPollThem(t *testing.T) {
	for text, want := range map[string]string{
		"Send tracker task notifications to #ops":                "tracker.listIssues",
		"email our customers about past-due invoices in the ERP": "erp.listInvoices",
		"post invoice alerts in #billing":                        "erp.listInvoices",
	} {
		d := compile(t, text)
		if d.Flow == nil || d.Flow.Trigger.Poll == nil || d.Flow.Trigger.Poll.Operation != want {
			t.Errorf("%q: want a poll of %s\n%s", text, want, d.YAML)
		}
	}
	d := compile(t, "every monday at 9am post a summary of tracker task notifications to #ops")
	if d.Flow == nil || d.Flow.Trigger.Schedule == nil {
		t.Errorf("a stated schedule was replaced:\n%s", d.YAML)
	}
}

// A verbless noun phrase headed by a message asks for it to be sent
// ("invoice alerts in chat"); a message noun that is a property ("email
// of new contacts") or goes into a system that sends nothing is not.
func TestMessageHeadedPhrase(t *testing.T) {
	d := compile(t, "Automate real-time ERP invoice alerts in #billing")
	if got := strings.Join(calls(d.Flow), " "); got != "chat.postMessage" || d.Flow.Trigger.Poll == nil || d.Flow.Trigger.Poll.Operation != "erp.listInvoices" {
		t.Fatalf("calls %q\n%s\n%v", got, d.YAML, d.NotUnderstood)
	}
	for _, text := range []string{"Validate email of new contacts in CRM", "Automatically convert structured chat messages into tracker issues"} {
		d := compile(t, text)
		for _, c := range calls(d.Flow) {
			if c == "smtp.send" || c == "chat.postMessage" {
				t.Errorf("%q: drafted %s\n%s", text, c, d.YAML)
			}
		}
	}
}

// "On a schedule" with no period is a schedule trigger with a question,
// not a manual run.
func TestUnspecifiedSchedule(t *testing.T) {
	d := compile(t, "email the new CRM contacts to ada@example.com on a schedule")
	if d.Flow == nil || d.Flow.Trigger.Schedule == nil {
		t.Fatalf("no schedule:\n%s", d.YAML)
	}
	if !strings.Contains(strings.Join(d.Questions, " "), "How often should it run?") {
		t.Errorf("no question about the period: %v", d.Questions)
	}
}

// An accompanying message ("… with chat alerts") is a step of its own,
// never the trigger; "with" before anything else stays in its clause.
func TestAccompanyingMessage(t *testing.T) {
	d := compile(t, "Create tracker issues with chat alerts in #dev")
	got := strings.Join(calls(d.Flow), " ")
	if !strings.Contains(got, "tracker.createIssue") || !strings.Contains(got, "chat.postMessage") {
		t.Fatalf("calls %q\n%s", got, d.YAML)
	}
	d = compile(t, "Zendesk ticket escalation to tracker with chat alerts in #dev")
	if d.Flow != nil && d.Flow.Trigger.Poll != nil {
		t.Fatalf("the message became the trigger:\n%s", d.YAML)
	}
	d = compile(t, "Create a tracker issue with the title \"Review\"")
	if strings.Contains(strings.Join(calls(d.Flow), " "), "chat.postMessage") {
		t.Fatalf("a message drafted from a plain with-phrase:\n%s", d.YAML)
	}
}

// A person word names whichever kind of person record the named system
// keeps: "a person in the CRM" is a contact, "a person in HR" an employee.
func TestPersonKindInNamedSystem(t *testing.T) {
	for text, want := range map[string]string{
		"Get a person from the CRM":          "crm.getContact",
		"Look up the person in HR":           "hr.getEmployee",
		"Email the new leads to x@y.example": "smtp.send",
	} {
		d := compile(t, text)
		got := strings.Join(calls(d.Flow), " ")
		if !strings.Contains(got, want) || strings.Contains(text, "Email") && strings.Contains(got, "hr.") {
			t.Errorf("%q: calls %q, want %s", text, got, want)
		}
	}
}

// A plural person reference ("your customers") is the recipient: one
// lookup of the person, one email to their address.
func TestPluralPersonRecipient(t *testing.T) {
	d := compile(t, "When an ERP invoice becomes overdue, notify the customers about it")
	got := calls(d.Flow)
	n := 0
	for _, c := range got {
		if c == "erp.getCustomer" {
			n++
		}
	}
	if n > 1 || !strings.Contains(strings.Join(got, " "), "smtp.send") {
		t.Fatalf("calls %v\n%s", got, d.YAML)
	}
}

// A product the catalog lacks that is only where the records come from
// does not cost the step into the connected destination; the product is
// named as not understood. One that is the destination still does.
func TestUnknownSourceKeepsDestinationStep(t *testing.T) {
	d := compile(t, "Send real-time notifications for new Shopify orders to #sales in chat")
	if got := strings.Join(calls(d.Flow), " "); got != "chat.postMessage" || !strings.Contains(strings.Join(d.NotUnderstood, " "), "Shopify") {
		t.Fatalf("calls %q, not understood %v\n%s", got, d.NotUnderstood, d.YAML)
	}
	d = compile(t, "Add new contacts from CRM to the email list in Mailchimp")
	for _, c := range calls(d.Flow) {
		if c == "smtp.send" {
			t.Fatalf("Mailchimp's email list read as an email:\n%s", d.YAML)
		}
	}
}

// Records carried into another system ("sync ERP customers to CRM
// accounts") are created there: nothing in scope has the id an update
// needs. With the record itself in scope (the trigger watches it), an
// update stays an update.
func TestCarriedRecordsAreCreated(t *testing.T) {
	d := compile(t, "Sync ERP customers to CRM accounts")
	got := strings.Join(calls(d.Flow), " ")
	if !strings.Contains(got, "crm.createAccount") || strings.Contains(got, "crm.updateAccount") {
		t.Fatalf("calls %q\n%s", got, d.YAML)
	}
	d = compile(t, "When an account is updated in the CRM, sync the account's status in the CRM")
	if got := strings.Join(calls(d.Flow), " "); strings.Contains(got, "crm.createAccount") {
		t.Fatalf("an account in scope was created anew: %q\n%s", got, d.YAML)
	}
}

// A message goes to every destination its clause or the list after it
// names: "via email and chat", "to Google Sheet, chat and email" (the
// product the catalog lacks is named as not understood). One destination
// said twice ("either email or email") is one message; an address after
// "email" makes it a verb with its own recipient.
func TestMessageToEveryDestination(t *testing.T) {
	for text, want := range map[string]string{
		"When a form is submitted on the website, notify your team via email and chat":             "smtp.send chat.postMessage",
		"Send the daily report to Google Sheet, chat and email":                                    "chat.postMessage smtp.send",
		"Every morning post a summary to chat, Teams & chat":                                       "chat.postMessage chat.postMessage",
		"When a contact form is submitted, send a confirmation via either email or email":          "smtp.send",
		"When a new employee is hired in HR, post a welcome in #general and email it@acme.example": "chat.postMessage smtp.send",
	} {
		d := compile(t, text)
		if got := strings.Join(calls(d.Flow), " "); got != want {
			t.Errorf("%q: calls %q, want %q\n%s\n%v", text, got, want, d.YAML, d.NotUnderstood)
		}
	}
	d := compile(t, "Send the daily report to Google Sheet, chat and email")
	if nu := strings.Join(d.NotUnderstood, " "); !strings.Contains(nu, "Google") {
		t.Errorf("the product is not named: %v", d.NotUnderstood)
	}
}

// A report, summary or alert qualified by a connected system's records
// ("CRM lead report", "tracker task summaries") is about those records:
// they are listed first. Records of a product the catalog lacks ("GLPI
// ticket notifications") are not read from a connected system.
func TestReportOfRecordsListsThem(t *testing.T) {
	for text, want := range map[string]string{
		"Weekly CRM lead report to chat":                            "crm.listContacts chat.postMessage",
		"Automate daily tracker task summaries to chat by assignee": "tracker.listIssues chat.postMessage",
		"Automate daily GLPI pending ticket notifications to chat":  "chat.postMessage",
	} {
		d := compile(t, text)
		if got := strings.Join(calls(d.Flow), " "); got != want {
			t.Errorf("%q: calls %q, want %q\n%s", text, got, want, d.YAML)
		}
	}
}

// An action noun after the record it acts on is that action: "tracker
// ticket creation" creates a tracker issue. Message nouns stay messages,
// and "status updates" (no -ion noun) is still no verb.
func TestActionNouns(t *testing.T) {
	for text, want := range map[string]string{
		"tracker ticket creation from Google Forms with email notifications": "tracker.createIssue smtp.send",
		"Automated invoice creation in the ERP":                              "erp.createInvoice",
		"post the tracker issues to #ops with status updates":                "tracker.listIssues chat.postMessage",
	} {
		d := compile(t, text)
		if got := strings.Join(calls(d.Flow), " "); got != want {
			t.Errorf("%q: calls %q, want %q\n%s", text, got, want, d.YAML)
		}
	}
}

// References between clauses: record kinds coordinated at a destination
// ("to CRM accounts & contacts") are each created there; a clause of a
// record alone after a create shares its verb ("create an account and a
// contact in the CRM"); a bare verb after an action takes its records and
// destination ("… leads to CRM (Create & Update)"), never repeating a
// step already made.
func TestClauseReferences(t *testing.T) {
	for text, want := range map[string]string{
		"Sync ERP customers to CRM accounts & contacts":                  "crm.createAccount crm.createContact",
		"When a deal is won, create an account and a contact in the CRM": "crm.createAccount crm.createContact",
		"Automatically sync Beex leads to CRM (Create & Update)":         "crm.createContact crm.updateContact",
		"create a contact in the CRM, then update":                       "crm.createContact crm.updateContact",
		"Stripe → CRM: Auto create contacts and deals from payments":     "crm.createContact crm.createOpportunity",
		"Create an invoice & customer communication in the ERP":          "erp.createInvoice",
	} {
		d := compile(t, text)
		if got := strings.Join(calls(d.Flow), " "); got != want {
			t.Errorf("%q: calls %q, want %q\n%s", text, got, want, d.YAML)
		}
	}
}

// "new ERP contacts": the named system's people are watched (the ERP's
// customers, not the CRM's contacts), and not listed again as a step;
// "a daily list of todos" creates the todos.
func TestNamedSystemPeopleAndPartitives(t *testing.T) {
	d := compile(t, "Send personalized welcome emails to new ERP contacts via SMTP")
	if d.Flow == nil || d.Flow.Trigger.Poll == nil || d.Flow.Trigger.Poll.Operation != "erp.listCustomers" {
		t.Fatalf("want a poll of ERP customers:\n%s", d.YAML)
	}
	if got := strings.Join(calls(d.Flow), " "); got != "smtp.send" {
		t.Errorf("calls %q", got)
	}
	d = compile(t, "Automatically create daily list of todos in tracker")
	if got := strings.Join(calls(d.Flow), " "); got != "tracker.createIssue" {
		t.Errorf("list of todos: calls %q\n%s\n%v", got, d.YAML, d.NotUnderstood)
	}
}

// Getting or receiving something in a system that sends messages asks
// for a message there ("Get daily poems in chat", "Receive a chat message
// when …", also when the event cannot be watched); getting a record kind
// there is a read.
func TestReceivedIsAMessage(t *testing.T) {
	for text, want := range map[string]string{
		"Get daily poems in chat":                                     "chat.postMessage",
		"Receive a chat message when new data gets added to Airtable": "chat.postMessage",
		"Receive a chat message when a new deal is added to the CRM":  "chat.postMessage",
		"Get the channels in chat":                                    "chat.listChannels",
	} {
		d := compile(t, text)
		if got := strings.Join(calls(d.Flow), " "); got != want {
			t.Errorf("%q: calls %q, want %q\n%s", text, got, want, d.YAML)
		}
	}
	d := compile(t, "Receive a chat message when new data gets added to Airtable")
	if d.Flow != nil && d.Flow.Trigger.Poll != nil {
		t.Errorf("the message became the trigger:\n%s", d.YAML)
	}
}

// The system a message is sent to decides its kind ("to chat with
// optional email confirmation" posts in chat); an email to a named
// system's people is licensed by them ("ERP customer welcome emails");
// a message that is another product's ("WhatsApp messages") is not sent.
func TestMessageDestinationAndPeople(t *testing.T) {
	for text, want := range map[string]string{
		"Website contact form to chat with optional email confirmation":          "chat.postMessage",
		"ERP customer welcome emails":                                            "smtp.send",
		"Send welcome WhatsApp messages to new CRM contacts with Beex templates": "",
	} {
		d := compile(t, text)
		if got := strings.Join(calls(d.Flow), " "); got != want {
			t.Errorf("%q: calls %q, want %q\n%s\n%v", text, got, want, d.YAML, d.NotUnderstood)
		}
	}
}

// Records of a product the catalog lacks are not listed from a connected
// system ("birthday reminders from Google Contacts", "new leads from
// Google Sheets"); "tracking" is no name of the tracker.
func TestForeignRecordsNotListed(t *testing.T) {
	for text, want := range map[string]string{
		"Daily birthday reminders from Google Contacts to chat":      "chat.postMessage",
		"Email new leads from Google Sheets via email on a schedule": "smtp.send",
		"ERP customer welcome emails with Google Sheets tracking":    "smtp.send",
	} {
		d := compile(t, text)
		if got := strings.Join(calls(d.Flow), " "); got != want {
			t.Errorf("%q: calls %q, want %q\n%s\n%v", text, got, want, d.YAML, d.NotUnderstood)
		}
	}
}

// A product's name is never a value: "a YouTube channel" is that
// product's channel, not chat's channel "youtube"; the product is named in
// not_understood and the channel asked for. A channel named plainly still
// is one.
func TestProductNamesAreNotValues(t *testing.T) {
	d := compile(t, "Automate YouTube channel analytics reports to chat weekly")
	if strings.Contains(strings.ToLower(d.YAML), "channelid: youtube") {
		t.Fatalf("a product's name taken as the channel:\n%s", d.YAML)
	}
	if !strings.Contains(strings.Join(d.NotUnderstood, " "), "YouTube") {
		t.Errorf("YouTube not named: %v", d.NotUnderstood)
	}
	d = compile(t, "post a weekly summary to the sales channel in chat")
	if !strings.Contains(d.YAML, "channelId: sales") {
		t.Errorf("a plain channel name lost:\n%s", d.YAML)
	}
}

// Records of a connected system carried to a product the catalog lacks:
// with no stated event they are watched where they come from (the product
// is where they go, not what is watched); "all" asks for the records that
// exist now, read once; the write into the product is named, never
// drafted, and the read it needs is.
func TestRecordsCarriedToAProduct(t *testing.T) {
	d := compile(t, "copy ERP invoices to Dropbox")
	if d.Flow == nil && !strings.Contains(d.YAML, "erp.listInvoices") || d.Flow != nil && (d.Flow.Trigger.Poll == nil || d.Flow.Trigger.Poll.Operation != "erp.listInvoices") {
		t.Errorf("not watched at the ERP:\n%s\n%v", d.YAML, d.NotUnderstood)
	}
	if !strings.Contains(strings.Join(d.NotUnderstood, " "), "Dropbox") {
		t.Errorf("Dropbox not named: %v", d.NotUnderstood)
	}
	for _, text := range []string{"Write all tracker tickets to Google Sheets", "copy all tracker issues to Dropbox"} {
		d = compile(t, text)
		if d.Flow == nil || d.Flow.Trigger.Poll != nil || strings.Join(calls(d.Flow), " ") != "tracker.listIssues" {
			t.Errorf("%q: want a one-off read of the issues\n%s\n%v", text, d.YAML, d.NotUnderstood)
			continue
		}
		if u := strings.Join(d.NotUnderstood, " "); !strings.Contains(u, "Google Sheets") && !strings.Contains(u, "Dropbox") {
			t.Errorf("%q: the product is not named: %v", text, d.NotUnderstood)
		}
	}
}

// A verbless message is sent, never watched ("sprint reports … via email"
// polled chat messages because a report is a message); a message whose
// content comes from a connected system named after a source word reads
// that system's event records first, unless the trigger brings them.
func TestMessagesFromASystem(t *testing.T) {
	for text, want := range map[string]string{
		"Automated sprint reports from tracker to stakeholders via email": "tracker.listIssues smtp.send",
		"Automated payment reminders with grouped ERP invoices via email": "erp.listInvoices smtp.send",
	} {
		d := compile(t, text)
		if d.Flow == nil || d.Flow.Trigger.Poll != nil || strings.Join(calls(d.Flow), " ") != want {
			t.Errorf("%q: want %s, no poll\n%s\n%v", text, want, d.YAML, d.NotUnderstood)
		}
	}
	d := compile(t, "when a new issue is created in the tracker, post alerts from tracker to #ops")
	if got := strings.Join(calls(d.Flow), " "); got != "chat.postMessage" {
		t.Errorf("the trigger's records read again: %s\n%s", got, d.YAML)
	}
}

// Something on the web that is checked or monitored is read with an HTTP
// GET before the alerts (a read: never a write); the URL is asked for. A
// website named without a check ("website leads") is no request.
func TestWebChecksAreRequests(t *testing.T) {
	for _, text := range []string{
		"Weekly website link checker with chat alerts for broken URLs",
		"Monitor website uptime and alert #ops in chat",
	} {
		d := compile(t, text)
		got := calls(d.Flow)
		if len(got) == 0 || got[0] != "http.request" || !strings.Contains(d.YAML, "method: GET") {
			t.Errorf("%q: want an HTTP GET first, got %v\n%s", text, got, d.YAML)
		}
		if !strings.Contains(strings.Join(d.Questions, " "), "URL") {
			t.Errorf("%q: the URL is not asked for: %v", text, d.Questions)
		}
	}
	d := compile(t, "Capture website leads to CRM with chat follow-up")
	for _, c := range calls(d.Flow) {
		if c == "http.request" {
			t.Errorf("a website with no check read as a request:\n%s", d.YAML)
		}
	}
}

// In a noun compound the last record noun is what is made; an earlier
// one only qualifies it ("client onboarding projects" are projects, not
// clients). A bracket ends the compound: "tracker issue (project LEADS)"
// is an issue.
func TestNounCompoundHead(t *testing.T) {
	d := compile(t, "When a form is submitted, create client onboarding projects in the tracker")
	if got := strings.Join(calls(d.Flow), " "); got != "tracker.createProject" {
		t.Errorf("client onboarding projects: %q\n%s", got, d.YAML)
	}
	d = compile(t, "crm contact new -> tracker issue (project LEADS)")
	if got := strings.Join(calls(d.Flow), " "); got != "tracker.createIssue" {
		t.Errorf("issue (project …): %q\n%s", got, d.YAML)
	}
	d = compile(t, "Create a customer invoice in the ERP")
	if got := strings.Join(calls(d.Flow), " "); got != "erp.createInvoice" {
		t.Errorf("customer invoice: %q", got)
	}
}

// A message whose clause names a connected system that sends it (or whose
// object is mail) is sent there even when the clause also names products
// the catalog lacks as its tools; the products are named. A product as the
// destination ("to WhatsApp") or a channel product ("via WhatsApp") with no
// connected sender still drafts nothing.
func TestMessageWithProductTools(t *testing.T) {
	for text, want := range map[string]string{
		"Automated Upwork job alerts with Airtable & chat":                               "chat.postMessage",
		"Send predefined personalized emails to leads from Google Sheets using SendGrid": "smtp.send",
	} {
		d := compile(t, text)
		if d.Flow == nil || strings.Join(calls(d.Flow), " ") != want {
			t.Errorf("%q: want %s\n%s\n%v", text, want, d.YAML, d.NotUnderstood)
			continue
		}
		nu := strings.Join(d.NotUnderstood, " ")
		for _, p := range []string{"Airtable", "SendGrid"} {
			if strings.Contains(text, p) && !strings.Contains(nu, p) {
				t.Errorf("%q: %s not named: %v", text, p, d.NotUnderstood)
			}
		}
	}
	for _, text := range []string{
		"Send contact form submissions to WhatsApp & Google Sheets",
		"Auto-send welcome messages to CRM leads via Evolution API WhatsApp",
	} {
		d := compile(t, text)
		for _, c := range calls(d.Flow) {
			if c == "chat.postMessage" || c == "smtp.send" {
				t.Errorf("%q: a message to a product the catalog lacks was drafted:\n%s", text, d.YAML)
			}
		}
	}
}

// Destinations listed after a message that named none of its own supply
// its destination: the system it already went to is not sent to twice;
// two systems named as destinations still get one message each.
func TestContinuedDestinationsOnce(t *testing.T) {
	for text, want := range map[string]string{
		"Automated asteroid alerts with NASA API, chat & Google Calendar":         "chat.postMessage",
		"Monitor flight price drops and send email alerts with SerpAPI and email": "smtp.send",
		"Send the daily stats to chat, Teams & email":                             "chat.postMessage smtp.send",
	} {
		d := compile(t, text)
		if got := strings.Join(calls(d.Flow), " "); got != want {
			t.Errorf("%q: want %s, got %s\n%s", text, want, got, d.YAML)
		}
	}
}

// A chat system named among the tools a request uses ("with … & chat"),
// where the request asks for messages and nothing is sent there, is where
// its message goes. Not when the trigger watches that system ("using chat
// commands"), and not where no message is asked for ("receipt photos with
// chat & Google Sheets").
func TestToolListChatGetsTheMessage(t *testing.T) {
	d := compile(t, "Ga4 anomaly detection with automated chat & email alerts")
	if got := strings.Join(calls(d.Flow), " "); got != "smtp.send chat.postMessage" {
		t.Errorf("want a message to chat too, got %q\n%s\n%v", got, d.YAML, d.NotUnderstood)
	}
	for _, text := range []string{
		"(De)activate n8n workflows using chat commands",
		"Keep receipt photos with chat & Google Sheets using OCR.space",
	} {
		d := compile(t, text)
		for _, c := range calls(d.Flow) {
			if c == "chat.postMessage" {
				t.Errorf("%q: a message was drafted:\n%s", text, d.YAML)
			}
		}
	}
}

// A system of nested records (a tracker: issues in projects) named in the
// list of tools gets one record of the kind its events are about, once,
// and only where the draft does nothing there yet; a system whose records
// are not nested (the CRM) gets nothing from being named as a tool.
func TestToolListRecords(t *testing.T) {
	for text, want := range map[string]string{
		"Onboard new employees with tracker, tracker, Zoom, and email":           "tracker.createIssue",
		"Schedule and track interviews using Calendly, Zoom, tracker, and email": "tracker.createIssue",
	} {
		d := compile(t, text)
		n := 0
		for _, c := range calls(d.Flow) {
			if c == want {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%q: want one %s, got %v\n%s", text, want, calls(d.Flow), d.YAML)
		}
	}
	for _, text := range []string{
		"List tracker issues with chat and tracker",
		"Lead scoring with Google Sheets and CRM",
	} {
		d := compile(t, text)
		for _, c := range calls(d.Flow) {
			if c == "tracker.createIssue" || c == "crm.createContact" || c == "crm.createAccount" {
				t.Errorf("%q: a record was drafted from a tool name: %v\n%s", text, calls(d.Flow), d.YAML)
			}
		}
	}
}

// The list of tools goes on past "and" ("& chat" reads as "and chat"):
// the chat system at its end gets the flow's message.
func TestToolListGoesOnPastAnd(t *testing.T) {
	for _, text := range []string{
		"Order tracking system with email reminders, Google Sheets, and chat escalations",
		"Sync Attio deals with Jotform & chat for sales alerts",
		"Weekly stock alerts with Airtable and chat",
	} {
		d := compile(t, text)
		if !slices.Contains(calls(d.Flow), "chat.postMessage") {
			t.Errorf("%q: want a message to chat, got %v\n%s\n%v", text, calls(d.Flow), d.YAML, d.NotUnderstood)
		}
	}
}

// A chat system that ends the list of tools is where the flow's message
// goes even when no word names a message; one earlier in the list, or
// qualifying a noun after it, may be where records come from: nothing.
func TestToolListEndIsTheDestination(t *testing.T) {
	for _, text := range []string{
		"Competitor price monitoring with Browserless, Google Drive & chat",
		"Automated contract review with DocuSign and chat",
	} {
		d := compile(t, text)
		if !slices.Contains(calls(d.Flow), "chat.postMessage") {
			t.Errorf("%q: want a message to chat, got %v\n%s\n%v", text, calls(d.Flow), d.YAML, d.NotUnderstood)
		}
	}
	for _, text := range []string{
		"Collect invoice photos with chat & Google Sheets",
		"Curate content ideas with Notion & chat options",
	} {
		d := compile(t, text)
		for _, c := range calls(d.Flow) {
			if c == "chat.postMessage" {
				t.Errorf("%q: a message was drafted:\n%s", text, d.YAML)
			}
		}
	}
}

// A verb's bare form heading a noun compound after a record noun, before a
// preposition ("lead capture to CRM"), is an action on that record, as an
// action noun is ("issue creation"); a read's noun ("contact lookup")
// drafts no step of its own.
func TestBareVerbNounCompound(t *testing.T) {
	d := compile(t, "Typeform lead capture to CRM with scoring and chat alerts")
	if !slices.Contains(calls(d.Flow), "crm.createContact") {
		t.Errorf("want crm.createContact\n%s\n%v", d.YAML, d.NotUnderstood)
	}
	d = compile(t, "Quick CRM contact lookup in chat for sales & support teams")
	if slices.Contains(calls(d.Flow), "crm.getContact") {
		t.Errorf("a lookup's noun drafted a get\n%s", d.YAML)
	}
}

// A title with no verb lists where its records go after a direction word,
// as a list of tools does after "with": the tracker named there gets one
// record of its event kind, a chat system ending the list the message;
// records of a kind the catalog names carried there ask for nothing else.
func TestVerblessTitleDestinations(t *testing.T) {
	for text, want := range map[string]string{
		"Automated Competitor Intelligence: CrunchBase to tracker Tracking Workflow": "tracker.createIssue",
		"Client onboarding automation: Tally Forms to Google Drive, Notion & chat":   "chat.postMessage",
	} {
		d := compile(t, text)
		if !slices.Contains(calls(d.Flow), want) {
			t.Errorf("%q: want %s\n%s\n%v", text, want, d.YAML, d.NotUnderstood)
		}
	}
	d := compile(t, "Provision new employee accounts to Google Workspace, chat, tracker, and CRM")
	if slices.Contains(calls(d.Flow), "tracker.createIssue") {
		t.Errorf("accounts carried to the tracker made an issue\n%s", d.YAML)
	}
}

// In a title that capitalises its words, an English word capitalised only
// at its start qualifies the record or message after it ("Rejection
// Emails"); a product's name (an inner capital, a word no dictionary has)
// still refuses the step, and a verb used as a noun ("Card Move Alerts")
// stays no action.
func TestTitleCaseWordsAreNoProducts(t *testing.T) {
	d := compile(t, "Send Automated Recruitment Rejection Emails with Google Sheets and email")
	if !slices.Contains(calls(d.Flow), "smtp.send") {
		t.Errorf("want smtp.send\n%s\n%v", d.YAML, d.NotUnderstood)
	}
	d = compile(t, "Send Welcome WhatsApp Messages To New Leads")
	if slices.Contains(calls(d.Flow), "chat.postMessage") || slices.Contains(calls(d.Flow), "smtp.send") {
		t.Errorf("a product's messages were sent\n%s", d.YAML)
	}
	d = compile(t, "tracker to chat Notification Trigger: Task/Card Move Alerts")
	if slices.Contains(calls(d.Flow), "tracker.updateIssue") {
		t.Errorf("a noun read as a verb\n%s", d.YAML)
	}
}

// "Record" keeps records as "save" does: "record in CRM" with no object
// keeps the flow's records there; an activity recorded in the system whose
// records the flow watches ("record the call in CRM") is noted on them,
// an update. Nowhere said, or in a system the flow does not watch, nothing
// is written.
func TestRecordVerbKeepsOrNotes(t *testing.T) {
	d := compile(t, "When someone submits the signup form, email the new lead and record in CRM")
	if !slices.Contains(calls(d.Flow), "crm.createContact") {
		t.Errorf("record in CRM: want crm.createContact\n%s\n%v", d.YAML, d.NotUnderstood)
	}
	d = compile(t, "When a new contact is added in CRM, send them a welcome email and record the call in CRM.")
	if !slices.Contains(calls(d.Flow), "crm.updateContact") {
		t.Errorf("an activity recorded on the watched records: want crm.updateContact\n%s\n%v", d.YAML, d.NotUnderstood)
	}
	for _, text := range []string{
		"When a new contact is added in CRM, send them a welcome email and record the call.",
		"When a new contact is added in CRM, send them a welcome email and record the call in ERP.",
	} {
		d = compile(t, text)
		for _, c := range calls(d.Flow) {
			if c != "smtp.send" && c != "crm.getContact" && c != "crm.listContacts" {
				t.Errorf("%q: unrequested %s\n%s", text, c, d.YAML)
			}
		}
	}
}

// A condition with no verb of its own that runs into a message sent
// somewhere, with no comma between ("if there are any a message will be
// sent to chat"), keeps the message; a message that is what the condition
// tests ("if a message is in #sales …") is sent nowhere.
func TestConditionRunsIntoMessage(t *testing.T) {
	for _, text := range []string{
		"When a new deal is created in CRM: if the amount is over 10000 a message will be sent to #sales.",
		"Watch new tracker issues in the ops project. If there are any a message will be sent to chat.",
	} {
		d := compile(t, text)
		if !slices.Contains(calls(d.Flow), "chat.postMessage") {
			t.Errorf("%q: want chat.postMessage\n%s\n%v", text, d.YAML, d.NotUnderstood)
		}
	}
	d := compile(t, "When a new deal is created in CRM: if a message is in #sales the deal is updated.")
	if slices.Contains(calls(d.Flow), "chat.postMessage") {
		t.Errorf("the tested message was sent\n%s", d.YAML)
	}
}

// A file format before a record names a document of it, no product:
// "email PDF invoices" sends them; "generate PDF invoices" makes files
// and creates no invoice record.
func TestFileFormatIsNoProduct(t *testing.T) {
	for _, text := range []string{
		"Generate and email PDF invoices from Typeform orders",
		"When a new invoice is created in ERP, email PDF invoices to billing@acme.example",
	} {
		d := compile(t, text)
		got := calls(d.Flow)
		if !slices.Contains(got, "smtp.send") {
			t.Errorf("%q: want smtp.send, got %v\n%s\n%v", text, got, d.YAML, d.NotUnderstood)
		}
		if slices.Contains(got, "erp.createInvoice") {
			t.Errorf("%q: a PDF made an invoice record\n%s", text, d.YAML)
		}
	}
}

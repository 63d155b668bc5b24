package nl2flow_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/weftio/weft/nl2flow"
)

// "When X is created" watches new records only: the poll's cursor is the
// record's creation time, so an update never starts a run.
func TestCreatedTriggerNewRecordsOnly(t *testing.T) {
	for _, text := range []string{
		"when a contact is created in the crm, post a message to #sales",
		"when a new contact is added to the crm, post a message to #sales",
	} {
		d := compile(t, text)
		p := d.Flow.Trigger.Poll
		if p == nil || p.Operation != "crm.listContacts" {
			t.Fatalf("%q: trigger %+v\n%s", text, d.Flow.Trigger, d.YAML)
		}
		if p.Cursor != "created_at" || p.Key != "id" {
			t.Errorf("%q: cursor %q key %q, want created_at / id\n%s", text, p.Cursor, p.Key, d.YAML)
		}
		if !strings.Contains(strings.Join(d.Explanation, " "), "updates do not start runs") {
			t.Errorf("%q: the explanation does not say updates are left out: %v", text, d.Explanation)
		}
	}
	// Updates and states keep the connector's update cursor.
	for _, text := range []string{
		"when a contact is updated in the crm, post a message to #sales",
		"when an opportunity is won, post a message to #sales",
		"when a contact is created or updated in the crm, post a message to #sales",
	} {
		d := compile(t, text)
		p := d.Flow.Trigger.Poll
		if p == nil {
			t.Fatalf("%q: no poll trigger\n%s", text, d.YAML)
		}
		if p.Cursor != "" {
			t.Errorf("%q: cursor %q: an update must start a run\n%s", text, p.Cursor, d.YAML)
		}
	}
}

// A deletion cannot be seen by polling a list: the draft says so and
// asks, and does not watch new or updated records instead.
func TestDeletedTriggerIsSaid(t *testing.T) {
	d := compile(t, "when a contact is deleted in the crm, post a message to #sales")
	if d.Flow != nil && d.Flow.Trigger.Poll != nil {
		t.Fatalf("a deletion was replaced by a poll of existing records:\n%s", d.YAML)
	}
	nu := strings.Join(d.NotUnderstood, " ")
	if !strings.Contains(nu, "deletion cannot be watched") {
		t.Errorf("not_understood does not say it: %v", d.NotUnderstood)
	}
	if !strings.Contains(strings.Join(d.Questions, " "), "Deleted contact records") {
		t.Errorf("no question: %v", d.Questions)
	}
	if d.Valid {
		t.Errorf("a draft whose trigger could not be drafted is valid:\n%s", d.YAML)
	}
}

// With no stated event, records carried from one connected system to
// another are watched where they come from; a stated event, an unknown
// destination or a source the catalog cannot poll leaves it alone.
func TestSourceRecordsTrigger(t *testing.T) {
	for text, want := range map[string]string{
		"Convert chat messages into tracker issues":       "chat.listMessages",
		"Copy the customers from the ERP to CRM accounts": "erp.listCustomers",
	} {
		d := compile(t, text)
		var got string
		if d.Flow != nil && d.Flow.Trigger.Poll != nil {
			got = d.Flow.Trigger.Poll.Operation
		}
		if got != want {
			t.Errorf("%q: trigger %q, want poll %s\n%s", text, got, want, d.YAML)
		}
	}
	for _, text := range []string{
		"Write all tracker issues to Google Sheets",                             // not a connected destination
		"When a deal is won in the CRM, copy the ERP customers to CRM accounts", // a stated event
	} {
		d := compile(t, text)
		if d.Flow != nil && d.Flow.Trigger.Poll != nil && d.Flow.Trigger.Poll.Operation == "erp.listCustomers" {
			t.Errorf("%q: polls the source, though %s", text, d.YAML)
		}
		if strings.Contains(text, "Google") && d.Flow != nil && d.Flow.Trigger.Poll != nil {
			t.Errorf("%q: polls %s", text, d.Flow.Trigger.Poll.Operation)
		}
	}
}

// With nothing else to start it, records that come in from a form or a
// website start the flow by arriving: a webhook. A stated schedule wins.
func TestHintedWebhook(t *testing.T) {
	d := compile(t, "Capture website leads to the CRM and post them to #sales")
	if d.Flow == nil || d.Flow.Trigger.Webhook == nil {
		t.Fatalf("no webhook:\n%s", d.YAML)
	}
	d = compile(t, "Every day at 9am post the website leads from the CRM to #sales")
	if d.Flow != nil && d.Flow.Trigger.Webhook != nil {
		t.Fatalf("a schedule was stated, yet a webhook:\n%s", d.YAML)
	}
}

// Something monitored is checked again and again: with no stated event or
// schedule the trigger is a schedule whose period is asked, never a webhook
// for the website watched; a stated record event still wins.
func TestMonitoredIsScheduled(t *testing.T) {
	for _, text := range []string{
		"Monitor website uptime with chat alerts to #ops",
		"Website downtime monitoring with alerts via chat to #ops",
	} {
		d := compile(t, text)
		if d.Flow == nil || d.Flow.Trigger.Schedule == nil {
			t.Fatalf("%q: want a schedule\n%s", text, d.YAML)
		}
		if !strings.Contains(strings.Join(d.Questions, " "), "How often should it run?") {
			t.Errorf("%q: the period is not asked: %v", text, d.Questions)
		}
	}
	d := compile(t, "Monitor new deals in the CRM and post them to #sales in chat")
	if d.Flow == nil || d.Flow.Trigger.Poll == nil || d.Flow.Trigger.Poll.Operation != "crm.listOpportunities" {
		t.Fatalf("a stated record event: want a poll of CRM opportunities\n%s", d.YAML)
	}
}

// An event whose system is named and whose record is said in words the
// catalog lacks ("a tracker card is moved") watches the records that
// system's events are about; a system alone before a direction word
// ("tracker to chat notifications", "chat-to-tracker issue creation") is
// where things come from. When the catalog does not tell which records
// (the CRM keeps accounts, contacts and deals side by side), nothing is
// guessed.
func TestEventRecordOfANamedSystem(t *testing.T) {
	for text, want := range map[string]string{
		"Sends a chat notification whenever a tracker card is moved between lists": "tracker.listIssues",
		"tracker to chat notifications":                                            "tracker.listIssues",
		"Automated chat-to-tracker issue creation":                                 "chat.listMessages",
		"whenever something happens in the HR system, email hr@example.com":        "hr.listEmployees",
	} {
		d := compile(t, text)
		if d.Flow == nil || d.Flow.Trigger.Poll == nil || d.Flow.Trigger.Poll.Operation != want {
			t.Errorf("%q: want a poll of %s\n%s\n%v", text, want, d.YAML, d.NotUnderstood)
		}
	}
	d := compile(t, "whenever something changes in the CRM, email sales@example.com")
	if d.Flow != nil && d.Flow.Trigger.Poll != nil {
		t.Errorf("a CRM record guessed: %s", d.Flow.Trigger.Poll.Operation)
	}
	if d := compile(t, "Automated chat-to-tracker issue creation"); !strings.Contains(strings.Join(calls(d.Flow), " "), "tracker.createIssue") {
		t.Errorf("the issue is no longer created:\n%s\n%v", d.YAML, d.NotUnderstood)
	}
}

// An event in a product the catalog lacks is said, never replaced by a
// connected system's event: "when a lead replies to your Lemlist email"
// does not poll CRM contacts. A Title Case request with a connected
// system is not read as naming a product.
func TestEventInAnUnconnectedProduct(t *testing.T) {
	for _, text := range []string{
		"Send a message on #sales when a lead replies to your Lemlist email",
		"when a new lead is added to Dropbox, post it to #sales",
	} {
		d := compile(t, text)
		if d.Flow != nil && d.Flow.Trigger.Poll != nil {
			t.Errorf("%q: another event watched instead: %s", text, d.Flow.Trigger.Poll.Operation)
		}
		if u := strings.Join(d.NotUnderstood, " "); !strings.Contains(u, "nothing can watch it") {
			t.Errorf("%q: the unobservable event is not said: %v", text, d.NotUnderstood)
		}
	}
	d := compile(t, "Send A Message To #sales When A New Contact Is Created In The CRM")
	if d.Flow == nil || d.Flow.Trigger.Poll == nil || d.Flow.Trigger.Poll.Operation != "crm.listContacts" {
		t.Errorf("Title Case read as a product:\n%s\n%v", d.YAML, d.NotUnderstood)
	}
}

// A bot of a system that sends messages answers what it is sent: with no
// other event or schedule, the trigger watches that system's messages.
// Elsewhere ("the chat bot channel" after a schedule) the word changes
// nothing.
func TestBotWatchesItsMessages(t *testing.T) {
	for _, text := range []string{
		"chat bot with menu-driven commands",
		"Create issues in the tracker using chat commands",
	} {
		d := compile(t, text)
		if !strings.Contains(d.YAML, "operation: chat.listMessages") {
			t.Errorf("%q: want a poll of chat.listMessages\n%s", text, d.YAML)
		}
	}
	d := compile(t, "Every day post the open issues to the chat bot channel")
	if d.Flow == nil || d.Flow.Trigger.Schedule == nil {
		t.Errorf("a schedule was stated: %s", d.YAML)
	}
}

// A bot answers in its own system: with nothing else sent there, the draft
// replies (in the channel of the message that started it), and the write
// licence counts "chat bot" as asking for that reply. Commands alone only
// start the flow; a bot whose draft already posts there gets no second
// message.
func TestBotReplies(t *testing.T) {
	d := compile(t, "chat bot with menu-driven commands")
	if got := strings.Join(calls(d.Flow), " "); got != "chat.postMessage" {
		t.Fatalf("want the bot's reply, got %q\n%s\n%v", got, d.YAML, d.NotUnderstood)
	}
	if !strings.Contains(d.YAML, "channelId: =trigger.body.") {
		t.Errorf("the reply does not go to the trigger message's channel:\n%s", d.YAML)
	}
	for text, want := range map[string]string{
		"Create issues in the tracker using chat commands": "tracker.createIssue",
		"chat bot that posts the open issues to #ops":      "tracker.listIssues chat.postMessage",
	} {
		d := compile(t, text)
		if got := strings.Join(calls(d.Flow), " "); got != want {
			t.Errorf("%q: want %s, got %s\n%s", text, want, got, d.YAML)
		}
	}
}

// Forms said in the plural, signups and registrations come in as a form
// does: with no stated event or schedule, the trigger is a webhook. A poll
// stated for a connected system still wins.
func TestFormsSignupsRegistrationsAreWebhooks(t *testing.T) {
	for _, text := range []string{
		"Automate school trip consent forms with email verification",
		"Newsletter signup flow with a welcome email",
		"Automate event registration and reminder emails",
	} {
		d := compile(t, text)
		if !strings.Contains(d.YAML, "webhook:") {
			t.Errorf("%q: want a webhook trigger\n%s", text, d.YAML)
		}
	}
	d := compile(t, "When a new contact is created in the CRM, send them the registration link by email")
	if !strings.Contains(d.YAML, "operation: crm.listContacts") {
		t.Errorf("a stated CRM event lost to the form:\n%s", d.YAML)
	}
}

// Something tracked with no stated event or schedule is checked again and
// again, as something monitored is: a schedule whose period is asked. A
// connected system's records tracked are watched as records.
func TestTrackedIsScheduled(t *testing.T) {
	for _, text := range []string{
		"Track Udemy course discounts with Airtop and chat alerts",
		"Track real estate competitor prices with email alerts",
	} {
		d := compile(t, text)
		if !strings.Contains(d.YAML, "schedule:") || !strings.Contains(strings.Join(d.Questions, " "), "how often") {
			t.Errorf("%q: want a schedule whose period is asked\n%s\n%v", text, d.YAML, d.Questions)
		}
	}
	d := compile(t, "Track CRM deals in Google Sheets for sales pipeline reporting")
	if !strings.Contains(d.YAML, "operation: crm.listOpportunities") {
		t.Errorf("tracked CRM deals are not watched:\n%s", d.YAML)
	}
}

// Reports, reminders and digests are sent on a clock: with no stated
// event, schedule or webhook hint, a schedule whose period is asked. A
// stated event or a form still starts the flow.
func TestPeriodicMessagesAreScheduled(t *testing.T) {
	for _, text := range []string{
		"Automated sprint reports from the tracker via email",
		"Plant watering reminder with OpenWeather and chat",
		"Ticket status digest for the support team in chat",
	} {
		d := compile(t, text)
		if !strings.Contains(d.YAML, "schedule:") || !strings.Contains(strings.Join(d.Questions, " "), "How often") {
			t.Errorf("%q: want a schedule whose period is asked\n%s\n%v", text, d.YAML, d.Questions)
		}
	}
	for text, want := range map[string]string{
		"When a new contact is created in the CRM, send a summary to #sales in chat": "operation: crm.listContacts",
		"Event registration and reminder emails with a signup form":                  "webhook:",
		"Send weekly sales reports to #sales in chat":                                "cron: 0 9 * * 1",
	} {
		d := compile(t, text)
		if !strings.Contains(d.YAML, want) {
			t.Errorf("%q: want %q in the trigger\n%s", text, want, d.YAML)
		}
	}
}

// A connected system's event records named by the catalog's own word for
// them, and not sent, made or carried there, are what the flow works on as
// they arrive: with no stated event the trigger polls them. The same words
// as the object of a catalog verb, after "with" or a direction word, or in
// the clause after an arrow are the flow's output and start nothing.
func TestReceivedRecordsTrigger(t *testing.T) {
	for _, text := range []string{
		"Create ticket on specific customer messages in chat",
		"Track expenses by parsing chat transaction messages to Google Sheets",
		"Google Sheet to CSV conversion via chat messages",
	} {
		d := compile(t, text)
		if !strings.Contains(d.YAML, "operation: chat.listMessages") {
			t.Errorf("%q: want a poll of chat.listMessages\n%s", text, d.YAML)
		}
	}
	for _, text := range []string{
		"Create, update, and get an issue on tracker",
		"Send chat messages on RSS feed read",
		"Create debug breakpoints and logs with chat interactive messages",
		"crm contact new -> tracker issue",
	} {
		d := compile(t, text)
		if strings.Contains(d.YAML, "operation: chat.listMessages") || strings.Contains(d.YAML, "operation: tracker.listIssues") {
			t.Errorf("%q: the flow's own output starts it\n%s", text, d.YAML)
		}
	}
}

// A web page that is checked ("health check websites") is checked again
// and again: a schedule, like something monitored, not a webhook for the
// website; a stated schedule still wins.
func TestCheckedWebsitesAreScheduled(t *testing.T) {
	d := compile(t, "Health check websites with Google Sheets & chat alerts")
	if d.Flow == nil || d.Flow.Trigger.Schedule == nil {
		t.Errorf("want a schedule\n%s", d.YAML)
	}
	d = compile(t, "Weekly website link checker with chat alerts for broken URLs")
	if d.Flow == nil || d.Flow.Trigger.Schedule == nil || d.Flow.Trigger.Schedule.Cron != "0 9 * * 1" {
		t.Errorf("the stated weekly schedule was lost\n%s", d.YAML)
	}
	d = compile(t, "Capture website leads to the CRM and post them to #sales")
	if d.Flow == nil || d.Flow.Trigger.Webhook == nil {
		t.Errorf("website leads with no check are a webhook\n%s", d.YAML)
	}
}

// A bot word heading a compound that opens with the system ("chat slash
// command") is that system's bot: the trigger watches its messages.
func TestBotCompound(t *testing.T) {
	d := compile(t, "Add articles to a Notion list by accessing a chat slash command")
	if !strings.Contains(d.YAML, "operation: chat.listMessages") {
		t.Errorf("want a poll of chat.listMessages\n%s", d.YAML)
	}
	d = compile(t, "Post the chat summary command results to #ops every day")
	if d.Flow == nil || d.Flow.Trigger.Schedule == nil {
		t.Errorf("a schedule was stated\n%s", d.YAML)
	}
}

// Records placed in a product the catalog lacks ("contacts in Automizy")
// are that product's: a verbless request about them watches no catalog
// records. Records a connected system qualifies ("CRM deals in Google
// Sheets") stay that system's.
func TestRecordsInAProductAreNotWatched(t *testing.T) {
	for _, text := range []string{"Manage contacts in Automizy", "Manage contacts in Google Contacts"} {
		d := compile(t, text)
		if strings.Contains(d.YAML, "poll:") {
			t.Errorf("%q: watches the catalog's records\n%s", text, d.YAML)
		}
	}
	d := compile(t, "Track CRM deals in Google Sheets for sales pipeline reporting")
	if !strings.Contains(d.YAML, "operation: crm.listOpportunities") {
		t.Errorf("CRM deals are the CRM's\n%s", d.YAML)
	}
}

// A request that sends nothing and names a messaging system only as where
// it comes from or goes through is started by what is posted there; one
// that sends there ("send via chat", "alerts via chat") is not.
func TestChannelOfOriginIsWatched(t *testing.T) {
	for _, text := range []string{"Start a Whereby video call from chat", "Midjourney Image Generator via chat and GoAPI"} {
		d := compile(t, text)
		if !strings.Contains(d.YAML, "operation: chat.listMessages") {
			t.Errorf("%q: want a poll of chat.listMessages\n%s", text, d.YAML)
		}
	}
	for _, text := range []string{"Discover professional emails with uProc and send via chat", "Website downtime monitoring with smart alerts via chat & Email"} {
		d := compile(t, text)
		if strings.Contains(d.YAML, "operation: chat.listMessages") {
			t.Errorf("%q: a destination watched\n%s", text, d.YAML)
		}
	}
}

// When two record kinds of the same system fit a trigger equally, the one
// the clause names first is what it is about ("deals … based on company
// size" watches deals, not companies).
func TestTriggerRecordNamedFirst(t *testing.T) {
	d := compile(t, "Auto-assign deals in CRM to fitting sales reps based on geo and company size")
	if !strings.Contains(d.YAML, "operation: crm.listOpportunities") {
		t.Errorf("want a poll of crm.listOpportunities\n%s", d.YAML)
	}
	d = compile(t, "new crm companies with their deals -> post in #sales")
	if !strings.Contains(d.YAML, "operation: crm.listAccounts") {
		t.Errorf("want a poll of crm.listAccounts\n%s", d.YAML)
	}
}

// Messages that come "via" a messaging system ("conversion via chat
// messages") are an exchange through it: the flow watches them and answers
// there, as a bot does; messages parsed "by" a step are only read.
func TestExchangeViaMessagesIsAnswered(t *testing.T) {
	d := compile(t, "Automated Google Sheet to CSV conversion via chat messages")
	if !strings.Contains(d.YAML, "operation: chat.listMessages") || !slices.Contains(calls(d.Flow), "chat.postMessage") {
		t.Errorf("want a poll of chat messages and a reply there\n%s", d.YAML)
	}
	d = compile(t, "Track expenses by parsing chat transaction messages to Google Sheets")
	if slices.Contains(calls(d.Flow), "chat.postMessage") {
		t.Errorf("messages only read were answered\n%s", d.YAML)
	}
}

// "once a day", "once a week", "once an hour": a frequency is a schedule as
// "every day" is; before, the period word was left over and the flow
// watched the system it posts to.
func TestOnceAPeriodIsScheduled(t *testing.T) {
	for text, want := range map[string]string{
		"Send a random recipe once a day to chat":                "0 9 * * *",
		"post the open issues to #ops once a week":               "0 9 * * 1",
		"once per week email the new invoices to ap@example.com": "0 9 * * 1",
	} {
		d := compile(t, text)
		if d.Flow == nil || d.Flow.Trigger.Schedule == nil || d.Flow.Trigger.Schedule.Cron != want {
			t.Errorf("%q: want schedule %q\n%s", text, want, d.YAML)
		}
	}
	// "once" alone is no period ("once the deal is won": an event).
	d := compile(t, "once a deal is won in the CRM, post it to #sales")
	if d.Flow == nil || d.Flow.Trigger.Schedule != nil {
		t.Errorf("an event read as a schedule\n%s", d.YAML)
	}
}

// "Receive updates for events in the tracker", "Receive updates from chat":
// a subscription to a connected system's events watches the records its
// events are about, as "whenever something happens in …" does. A system
// whose events are about more than one record kind (the CRM) is not
// guessed, and a stated schedule still wins.
func TestSubscribedUpdatesWatchTheSystem(t *testing.T) {
	for text, want := range map[string]string{
		"Receive updates for events in tracker":                                "tracker.listIssues",
		"Receive updates from chat and send an image":                          "chat.listMessages",
		"Receive updates for changes in the specified list in tracker":         "tracker.listIssues",
		"get notifications from the tracker and email them to ops@example.com": "tracker.listIssues",
	} {
		d := compile(t, text)
		if !strings.Contains(d.YAML, "operation: "+want) {
			t.Errorf("%q: want a poll of %s\n%s\n%v", text, want, d.YAML, d.NotUnderstood)
		}
	}
	for _, text := range []string{
		"Receive updates for all changes in CRM",
		"Receive daily updates from the tracker by email to ops@example.com",
	} {
		d := compile(t, text)
		if d.Flow != nil && d.Flow.Trigger.Poll != nil {
			t.Errorf("%q: a poll of %s guessed\n%s", text, d.Flow.Trigger.Poll.Operation, d.YAML)
		}
	}
}

// "webhook-based", "webhook-driven": a hyphenated word whose last part says
// what the thing is based on or driven by is read as its words, so the
// webhook is a webhook trigger; other hyphenated words ("follow-up") stay
// one word.
func TestBasedOnCompoundIsRead(t *testing.T) {
	for _, text := range []string{
		"webhook-based issue creation in the tracker",
		"webhook-driven alerts to #ops",
	} {
		d := compile(t, text)
		if d.Flow == nil || d.Flow.Trigger.Webhook == nil {
			t.Errorf("%q: want a webhook trigger\n%s\n%v", text, d.YAML, d.NotUnderstood)
		}
	}
}

// A system's name written twice in a row (two products the catalog maps
// onto one system: "Telegram chat" → "chat chat") is read once: the draft's
// name and what it reports do not repeat it. A second word that names a
// kind of message stays ("SMTP email alerts" still sends mail).
func TestDoubledSystemNameReadOnce(t *testing.T) {
	d := compile(t, "Forward chat chat messages to email")
	if d.Flow == nil || strings.Contains(d.Flow.Name, "chat-chat") {
		t.Errorf("the name repeats the system\n%s", d.YAML)
	}
	d = compile(t, "Create a tracker issue for each new chat chat message")
	for _, u := range d.NotUnderstood {
		if strings.Contains(u, "chat chat") {
			t.Errorf("not_understood repeats the system: %q", u)
		}
	}
	d = compile(t, "When a deal is won, send SMTP email alerts to sales@example.com")
	if !slices.Contains(calls(d.Flow), "smtp.send") {
		t.Errorf("SMTP email alerts: want smtp.send\n%s", d.YAML)
	}
}

// A bot named by a hyphenated compound that opens with the system
// ("chat-echo bot"), or a system used in the role of a bot ("chat as a
// command center"), answers what it is sent there.
func TestBotInRoleOrHyphenated(t *testing.T) {
	d := compile(t, "This is a workflow for a chat-echo bot.")
	if !pollsChat(d) {
		t.Fatalf("chat-echo bot: want a poll of chat.listMessages\n%s", d.YAML)
	}
	if !slices.Contains(calls(d.Flow), "chat.postMessage") {
		t.Errorf("a bot replies\n%s", d.YAML)
	}
	d = compile(t, "Use chat as a command center for the team")
	if !pollsChat(d) {
		t.Errorf("chat as a command center: want a poll of chat.listMessages\n%s", d.YAML)
	}
	d = compile(t, "Post the open deals to chat as a daily report")
	if pollsChat(d) {
		t.Errorf("no bot word after the role: no poll of chat\n%s", d.YAML)
	}
}

// A word made of an English prefix and a dictionary word ("Multilanguage")
// is English, though no dictionary lists it: a short title with one does
// not fail the English check.
func TestPrefixedWordIsEnglish(t *testing.T) {
	d, err := compiler(t).Compile(context.Background(), nl2flow.Request{Text: "Multilanguage chat bot"})
	if err != nil {
		t.Fatalf("refused: %v", err)
	}
	if !pollsChat(d) {
		t.Errorf("want a chat bot\n%s", d.YAML)
	}
	if _, err := compiler(t).Compile(context.Background(), nl2flow.Request{Text: "Wenn ein neuer Kontakt erstellt wird, sende eine Nachricht"}); err == nil {
		t.Errorf("German still refused")
	}
}

// pollsChat: the draft's trigger polls chat messages (read from its YAML:
// a draft with no steps has no parsed flow).
func pollsChat(d *nl2flow.Draft) bool {
	return strings.Contains(d.YAML, "poll:\n    operation: chat.listMessages")
}

// Messages sent on a clock about a kind of record ("task reminders", "deal
// digest") run on a schedule whose period is asked, not as each record
// changes; alerts about records ("invoice alerts") still watch them.
func TestPeriodicMessagesAboutRecordsAreScheduled(t *testing.T) {
	for _, text := range []string{"Automated notion task reminders via chat", "Send task reminders to chat"} {
		d := compile(t, text)
		if !strings.Contains(d.YAML, "schedule:") {
			t.Errorf("%q: want a schedule\n%s", text, d.YAML)
		}
	}
	d := compile(t, "Send invoice alerts to chat")
	if !strings.Contains(d.YAML, "operation: erp.listInvoices") {
		t.Errorf("invoice alerts: want a poll of invoices\n%s", d.YAML)
	}
}

// A request to monitor something no connected system holds, whose draft
// reads nothing, names that clause in not_understood with what would read
// it: the message alone does not carry the check.
func TestUnreadMonitorIsSaid(t *testing.T) {
	d := compile(t, "Monitor price evolution with email notification")
	said := strings.Join(d.NotUnderstood, " ")
	if !strings.Contains(said, "Monitor price evolution") || !strings.Contains(said, "HTTP request") {
		t.Errorf("the unread monitor is not said: %q\n%s", d.NotUnderstood, d.YAML)
	}
	d = compile(t, "Monitor website uptime and alert #ops in chat")
	if strings.Contains(strings.Join(d.NotUnderstood, " "), "what is monitored is read from no connected system") {
		t.Errorf("the page is read, yet said unread: %q\n%s", d.NotUnderstood, d.YAML)
	}
}

// English idioms of recurrence with no period ("every so often", "from
// time to time", "on a regular basis") run on a schedule whose period is
// asked, the default said in the question; "every" followed by a period
// still sets it.
func TestPeriodicIdiomIsScheduled(t *testing.T) {
	for _, text := range []string{
		"Every so often, email the list of new CRM contacts to sales@acme.example",
		"From time to time post the tracker issues of project SUP to #ops in chat",
		"On a regular basis, list the ERP invoices and email them to billing@acme.example",
		"Every now and then list the tracker issues of project SUP and post them in #ops",
	} {
		d := compile(t, text)
		if d.Flow == nil || d.Flow.Trigger.Schedule == nil {
			t.Fatalf("%q: want a schedule\n%s", text, d.YAML)
		}
		if q := strings.Join(d.Questions, " "); !strings.Contains(q, "How often should it run?") || !strings.Contains(q, "the draft runs") {
			t.Errorf("%q: the period and its default are not said: %v", text, d.Questions)
		}
		for _, u := range d.NotUnderstood {
			if strings.Contains(strings.ToLower(u), "often") || strings.Contains(strings.ToLower(u), "time to time") || strings.Contains(strings.ToLower(u), "basis") || strings.Contains(u, "now and") {
				t.Errorf("%q: the idiom is listed as not understood: %v", text, d.NotUnderstood)
			}
		}
	}
	d := compile(t, "Every 5 minutes post the tracker issues of project SUP to #ops in chat")
	if d.Flow == nil || d.Flow.Trigger.Schedule == nil || d.Flow.Trigger.Schedule.Cron != "*/5 * * * *" {
		t.Fatalf("a stated period: want every 5 minutes\n%s", d.YAML)
	}
}

// A system that sends messages, named in a list of tools before its end
// in a request that asks for no message, is where the flow's input is
// posted: the trigger watches its messages. Not when the request asks for
// messages ("alerts": it is where they go) or when it ends the list.
func TestToolListChatBeforeTheEndIsTheSource(t *testing.T) {
	for _, text := range []string{
		"Helpdesk intake with chat and tracker",
		"Expense receipts with chat and tracker",
		"Onboarding checklist with chat, tracker and CRM",
	} {
		d := compile(t, text)
		if d.Flow == nil || d.Flow.Trigger.Poll == nil || d.Flow.Trigger.Poll.Operation != "chat.listMessages" {
			t.Errorf("%q: want a poll of chat messages\n%s", text, d.YAML)
		}
	}
	for _, text := range []string{
		"Incident alerts with chat and tracker",
		"Expense approvals with tracker and chat",
	} {
		d := compile(t, text)
		if d.Flow != nil && d.Flow.Trigger.Poll != nil && d.Flow.Trigger.Poll.Operation == "chat.listMessages" {
			t.Errorf("%q: chat is where messages go, yet the trigger watches it\n%s", text, d.YAML)
		}
	}
}

package nl2flow

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// The builtin compiler's vocabulary lives in data files
// (nl2flow/lexicon/*.json), embedded and loaded once with validation:
// how integration requests name actions, records, systems, events,
// states, weekdays and time zones, plus the few tuned constants. Words,
// not sentences: the compiler combines them. See lexicon/README.md.

//go:embed lexicon/*.json
var lexiconFS embed.FS

// lexVersion is the file format this code reads.
const lexVersion = 1

type lexGroup struct {
	Name  string   `json:"name"`
	Note  string   `json:"note"`
	Class string   `json:"class,omitempty"` // groups of one class must not share a word unless it is declared ambiguous
	Value string   `json:"value,omitempty"` // what the words mean (an action, an object, a state …)
	Words []string `json:"words"`
	file  string
}

type lexAmbiguity struct {
	Word   string   `json:"word"`
	Groups []string `json:"groups"`
	Note   string   `json:"note"`
}

type lexConstant struct {
	Value float64 `json:"value"`
	Note  string  `json:"note"`
}

type lexFile struct {
	Version   int                    `json:"version"`
	Note      string                 `json:"note"`
	Groups    []lexGroup             `json:"groups"`
	Ambiguous []lexAmbiguity         `json:"ambiguous"`
	Constants map[string]lexConstant `json:"constants,omitempty"`
}

// lexicon is the loaded vocabulary: groups in file order (files by name).
type lexicon struct {
	order     []*lexGroup
	byName    map[string]*lexGroup
	constants map[string]float64
}

// maxLexWord bounds one entry (a word or a short phrase).
const maxLexWord = 64

// loadLexicon reads and validates every *.json file of fsys's root.
func loadLexicon(fsys fs.FS) (*lexicon, error) {
	names, err := fs.Glob(fsys, "*.json")
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("lexicon: no *.json files")
	}
	sort.Strings(names)
	lx := &lexicon{byName: map[string]*lexGroup{}, constants: map[string]float64{}}
	var amb []lexAmbiguity
	var ambFile []string
	for _, name := range names {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.DisallowUnknownFields()
		var f lexFile
		if err := dec.Decode(&f); err != nil {
			return nil, fmt.Errorf("lexicon %s: %w", name, err)
		}
		if f.Version != lexVersion {
			return nil, fmt.Errorf("lexicon %s: version %d, this code reads version %d", name, f.Version, lexVersion)
		}
		if strings.TrimSpace(f.Note) == "" {
			return nil, fmt.Errorf("lexicon %s: the file has no note", name)
		}
		for i := range f.Groups {
			g := f.Groups[i]
			g.file = name
			if g.Name == "" || strings.TrimSpace(g.Note) == "" || len(g.Words) == 0 {
				return nil, fmt.Errorf("lexicon %s: group %d (%q) needs a name, a note and words", name, i, g.Name)
			}
			if lx.byName[g.Name] != nil {
				return nil, fmt.Errorf("lexicon %s: group %q is also in %s", name, g.Name, lx.byName[g.Name].file)
			}
			if g.Class != "" && g.Value == "" {
				return nil, fmt.Errorf("lexicon %s: group %q has a class and no value", name, g.Name)
			}
			seen := map[string]bool{}
			for _, w := range g.Words {
				if w == "" || len(w) > maxLexWord || w != strings.ToLower(strings.TrimSpace(w)) || strings.Contains(w, "  ") {
					return nil, fmt.Errorf("lexicon %s: group %q: entry %q must be lower case, trimmed, 1–%d bytes", name, g.Name, w, maxLexWord)
				}
				if seen[w] {
					return nil, fmt.Errorf("lexicon %s: group %q lists %q twice", name, g.Name, w)
				}
				seen[w] = true
			}
			lx.byName[g.Name] = &g
			lx.order = append(lx.order, &g)
		}
		for k, c := range f.Constants {
			if strings.TrimSpace(c.Note) == "" {
				return nil, fmt.Errorf("lexicon %s: constant %q has no note", name, k)
			}
			if _, dup := lx.constants[k]; dup {
				return nil, fmt.Errorf("lexicon %s: constant %q defined twice", name, k)
			}
			lx.constants[k] = c.Value
		}
		for _, a := range f.Ambiguous {
			amb = append(amb, a)
			ambFile = append(ambFile, name)
		}
	}
	return lx, lx.checkConflicts(amb, ambFile)
}

// checkConflicts: a word in two groups of one class is an error unless an
// ambiguity declares exactly those groups; a declaration must be needed.
func (lx *lexicon) checkConflicts(amb []lexAmbiguity, ambFile []string) error {
	in := map[string]map[string][]string{} // class → word → groups
	for _, g := range lx.order {
		if g.Class == "" {
			continue
		}
		if in[g.Class] == nil {
			in[g.Class] = map[string][]string{}
		}
		for _, w := range g.Words {
			in[g.Class][w] = append(in[g.Class][w], g.Name)
		}
	}
	declared := map[string]bool{}
	for i, a := range amb {
		if strings.TrimSpace(a.Note) == "" || len(a.Groups) < 2 {
			return fmt.Errorf("lexicon %s: ambiguity %q needs a note and two or more groups", ambFile[i], a.Word)
		}
		class := ""
		for _, gn := range a.Groups {
			g := lx.byName[gn]
			if g == nil {
				return fmt.Errorf("lexicon %s: ambiguity %q names unknown group %q", ambFile[i], a.Word, gn)
			}
			if class != "" && g.Class != class || g.Class == "" {
				return fmt.Errorf("lexicon %s: ambiguity %q: groups must share a class", ambFile[i], a.Word)
			}
			class = g.Class
		}
		got := in[class][a.Word]
		if strings.Join(sorted(got), ",") != strings.Join(sorted(a.Groups), ",") {
			return fmt.Errorf("lexicon %s: ambiguity %q declares %v but the word is in %v", ambFile[i], a.Word, a.Groups, got)
		}
		declared[class+"\x00"+a.Word] = true
	}
	var bad []string
	for class, ws := range in {
		for w, gs := range ws {
			if len(gs) > 1 && !declared[class+"\x00"+w] {
				bad = append(bad, fmt.Sprintf("%q in %s", w, strings.Join(gs, " and ")))
			}
		}
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		return fmt.Errorf("lexicon: words in two groups of one class, not declared ambiguous: %s", strings.Join(bad, "; "))
	}
	return nil
}

func sorted(xs []string) []string {
	out := append([]string(nil), xs...)
	sort.Strings(out)
	return out
}

func mustLexicon() *lexicon {
	sub, err := fs.Sub(lexiconFS, "lexicon")
	if err == nil {
		var lx *lexicon
		if lx, err = loadLexicon(sub); err == nil {
			return lx
		}
	}
	// The files are compiled in; a bad one is a build error, caught by
	// TestLexiconLoads before it can ship.
	panic(err)
}

// list returns a group's words in file order.
func (lx *lexicon) list(name string) []string {
	if g := lx.byName[name]; g != nil {
		return g.Words
	}
	return nil
}

// group returns a group's words as a set (empty when there is none).
func (lx *lexicon) set(name string) wordSet {
	m := map[string]bool{}
	if g := lx.byName[name]; g != nil {
		for _, w := range g.Words {
			m[w] = true
		}
	}
	return wordSet{m}
}

// values maps each word of the groups named prefix* to its group's value;
// a word in two of them (declared ambiguous) keeps the first.
func (lx *lexicon) values(prefix string) map[string]string {
	m := map[string]string{}
	for _, g := range lx.order {
		if strings.HasPrefix(g.Name, prefix) && g.Value != "" {
			for _, w := range g.Words {
				if _, ok := m[w]; !ok {
					m[w] = g.Value
				}
			}
		}
	}
	return m
}

// multi maps each word of the groups named prefix* to every value it
// has, in file order.
func (lx *lexicon) multi(prefix string) map[string][]string {
	m := map[string][]string{}
	for _, g := range lx.order {
		if strings.HasPrefix(g.Name, prefix) && g.Value != "" {
			for _, w := range g.Words {
				m[w] = append(m[w], g.Value)
			}
		}
	}
	return m
}

// byValue maps each value of the groups named prefix* to its words.
func (lx *lexicon) byValue(prefix string) map[string][]string {
	m := map[string][]string{}
	for _, g := range lx.order {
		if strings.HasPrefix(g.Name, prefix) && g.Value != "" {
			m[g.Value] = append(m[g.Value], g.Words...)
		}
	}
	return m
}

// constant returns a tuned constant; an unknown name is a programming
// error caught by TestLexiconLoads.
func (lx *lexicon) constant(name string) float64 {
	v, ok := lx.constants[name]
	if !ok {
		panic("nl2flow: lexicon constant " + name + " is missing")
	}
	return v
}

var (
	lex                 = mustLexicon()
	stop                = lex.set("stop")
	systemAliases       = lex.byValue("system.")
	actionVerbs         = lex.values("verb.")
	objectWords         = lex.values("object.")
	eventWords          = lex.set("event")
	stateWords          = lex.multi("state.")
	knownVendors        = lex.set("vendor").m
	weekdays            = lex.values("weekday.")
	zones               = lex.values("zone.")
	englishWords        = lex.set("english")
	respell             = lex.values("respell.")
	knownWords          = lex.set("known")
	productNames        = lex.set("product")
	injectionPhrases    = lex.set("injection")
	fillerWords         = lex.set("filler")
	determiners         = lex.set("determiner")
	eventKinds          = lex.values("event.kind.")
	createdFieldParts   = lex.set("field.created")
	temporalWords       = lex.set("field.temporal")
	lxVerbCarry         = lex.set("cue.carry_verb")
	timeFormats         = lex.set("field.time_format")
	synNameSkip         = lex.set("name.skip")
	synGreeting         = lex.set("greeting")
	synVerbNotAfter     = lex.set("cue.verb_not_after")
	synVerbAfter        = lex.set("cue.verb_after")
	synVerbOrNoun       = lex.set("verb_or_noun")
	synEventEnd         = lex.set("event.end")
	synConditionInEvent = lex.set("condition.in_event")
	synObjectGeneric    = lex.set("cue.object_generic")
	synParticle         = lex.set("particle")
	synPreposition      = lex.set("preposition")
	synClauseOpen       = lex.set("clause.open")
	synScheduleNoun     = lex.set("schedule.noun")

	englishShare = lex.constant("english_share")
	typoMinLen   = int(lex.constant("typo_min_len"))
	typoLongLen  = int(lex.constant("typo_long_len"))
	// maxNominalCompound bounds how far back a noun compound is read from
	// its head ("Automated CRM deal stage updates": three words before).
	maxNominalCompound = int(lex.constant("nominal_compound"))
)

// lexConstantNames are the constants the code reads (TestLexiconLoads).
var lexConstantNames = []string{"english_share", "typo_min_len", "typo_long_len"}

type wordSet struct{ m map[string]bool }

func (w wordSet) has(s string) bool { return w.m[s] }

// Grammar word lists (lexicon/syntax.json).
var (
	lxTriggerWebhook        = lex.set("trigger.webhook")
	lxTriggerWebhookPhrase  = lex.set("trigger.webhook.phrase")
	lxTriggerWebhookHint    = lex.set("trigger.webhook.hint")
	lxTriggerRestated       = lex.set("trigger.restated")
	lxFieldCommon           = lex.set("field.common")
	lxLoopPhrase            = lex.set("loop.phrase")
	lxObjectVerbOrNoun      = lex.set("cue.object_verb_or_noun")
	lxPronounObject         = lex.set("pronoun.object")
	lxEmailFieldBefore      = lex.set("email.field_before")
	lxManual                = lex.set("manual")
	lxManualPhrase          = lex.set("manual.phrase")
	lxSchedulePeriod        = lex.set("schedule.period")
	lxEmailWord             = lex.set("email.word")
	lxChannelNoun           = lex.set("channel.noun")
	lxPersonRef             = lex.set("person.ref")
	lxManualPhraseNoWebhook = lex.set("manual.phrase.no_webhook")
	lxNegation              = lex.set("negation")
	lxNegationAux           = lex.set("negation.aux")
	lxTriggerOpen           = lex.set("trigger.open")
	lxTriggerOpenPhrase     = lex.set("trigger.open.phrase")
	lxTriggerIfPhrase       = lex.set("trigger.if.phrase")
	lxComparePart           = lex.set("compare.part")
	lxCompareSkip           = lex.set("compare.skip")
	lxComparePhrase         = lex.values("compare.phrase.")
	lxComparePhraseMax      = longestEntry("compare.phrase.")
	lxAbout                 = lex.set("about")
	lxNounComplement        = lex.set("noun.complement")
	lxDirection             = lex.set("direction")
	lxBasedSuffix           = lex.set("morph.based_suffix")
	morphPrefix             = lex.list("morph.prefix")
	lxInflectionVerb        = lex.set("inflection.verb")
	lxNew                   = lex.set("cue.new")
	lxKindPerson            = lex.set("kind.person")
	lxAccompany             = lex.set("cue.accompany")
	lxNot                   = lex.set("cue.not")
	lxOnly                  = lex.set("cue.only")
	lxBut                   = lex.set("cue.but")
	lxIf                    = lex.set("cue.if")
	lxChannelWord           = lex.set("cue.channel")
	lxNotChannelName        = lex.set("cue.not_channel_name")
	lxLineItem              = lex.set("cue.line_item")
	lxNotObject             = lex.set("cue.not_object")
	lxEmailVerb             = lex.set("cue.email_verb")
	lxCompareAt             = lex.set("cue.compare_at")
	lxCompareAtBound        = lex.set("cue.compare_at_bound")
	lxOf                    = lex.set("cue.of")
	lxVerbNotAfterObject    = lex.set("cue.verb_not_after_object")
	lxRespondOK             = lex.set("cue.respond_ok")
	lxAll                   = lex.set("cue.all")
	lxListAll               = lex.set("cue.list_all")
	lxSubject               = lex.set("cue.subject")
	lxPersonLead            = lex.set("person.lead")
	lxPersonAssignee        = lex.set("person.assignee")
	lxPersonRecordRef       = lex.set("person.record_ref")
	lxArchive               = lex.set("cue.archive")
	lxFor                   = lex.set("cue.for")
	lxSource                = lex.set("cue.source")
	lxSubscribe             = lex.set("cue.subscribe")
	lxUpdateNotice          = lex.set("cue.update_notice")
	lxIndefinite            = lex.set("cue.indefinite")
	lxStatePhrase           = lex.set("cue.state_phrase")
	lxStateOnlyInPhrase     = lex.set("cue.state_only_in_phrase")
	lxStateNot              = lex.set("cue.state_not")
	lxWebhookSigned         = lex.set("cue.webhook_signed")
	lxWebhookArrival        = lex.set("cue.webhook_arrival")
	lxVerbStore             = lex.set("verb.store")
	lxStorePlace            = lex.set("cue.store_place")
	// lxStorePlaceIn is the first store-place word ("in"): a source word
	// rewritten to say where records are kept reads as it.
	lxStorePlaceIn           = lex.list("cue.store_place")[0]
	lxFileFormat             = lex.set("cue.file_format")
	morphModifier            = lex.list("morph.modifier")
	lxSelf                   = lex.set("cue.self")
	lxNounAfterNew           = lex.set("cue.noun_after_new")
	lxAutomatic              = lex.set("cue.automatic")
	lxVerbSet                = lex.set("cue.verb_set")
	lxVerbSetObject          = lex.set("cue.verb_set_object")
	lxParticleUp             = lex.set("cue.particle_up")
	lxVerbLet                = lex.set("cue.verb_let")
	lxVerbLetKnow            = lex.set("cue.verb_let_know")
	lxVerbDrop               = lex.set("cue.verb_drop")
	lxVerbDropObject         = lex.set("cue.verb_drop_object")
	lxScheduleUnspecified    = lex.set("schedule.unspecified")
	lxCueMonitor             = lex.set("cue.monitor")
	lxWebResource            = lex.set("cue.web_resource")
	lxCueCheck               = lex.set("cue.check")
	lxCorrectionCut          = lex.set("correction.cut")
	lxSepThen                = lex.set("sep.then")
	lxSepThenPhrase          = lex.set("sep.then.phrase")
	lxSepAnd                 = lex.set("sep.and")
	lxSepAndSkip             = lex.set("sep.and.skip")
	lxStructureCondition     = lex.set("structure.condition")
	lxStructureLoop          = lex.set("structure.loop")
	lxStructureWait          = lex.set("structure.wait")
	lxStructureWaitLater     = lex.set("structure.wait.later")
	lxStructureTrigger       = lex.set("structure.trigger")
	lxStructureTriggerPhrase = lex.set("structure.trigger.phrase")
	lxEditFiller             = lex.set("edit.filler")
	lxEditDestructive        = lex.set("edit.destructive")
	lxNameIntro              = lex.set("name.intro")
	lxPersonOwner            = lex.set("person.owner")
	lxScheduleEvery          = lex.set("schedule.every")
	lxScheduleOther          = lex.set("schedule.other")
	lxScheduleOnce           = lex.set("schedule.once")
	lxSchedulePer            = lex.set("schedule.per")
	lxScheduleUnitMinute     = lex.set("schedule.unit.minute")
	lxScheduleUnitHour       = lex.set("schedule.unit.hour")
	lxScheduleOn             = lex.set("schedule.on")
	lxScheduleHour           = lex.set("schedule.hour")
	lxScheduleHourBefore     = lex.set("schedule.hour.before")
	lxScheduleWeekdayBefore  = lex.set("schedule.weekday.before")
	lxScheduleWeekdayJoiner  = lex.set("schedule.weekday.joiner")
	lxScheduleWeekend        = lex.set("schedule.weekend")
	lxTimeIntro              = lex.set("time.intro")
	lxTimeIntroNumber        = lex.set("time.intro.number")
	lxScheduleDomFirst       = lex.set("schedule.dom.first")
	lxScheduleDomLast        = lex.set("schedule.dom.last")
	lxScheduleDomOf          = lex.set("schedule.dom.of")
	lxScheduleDomQuant       = lex.set("schedule.dom.quant")
	lxScheduleDomThe         = lex.set("schedule.dom.the")
	lxZoneSuffix             = lex.set("cue.zone_suffix")
	lxZoneNeedsClock         = lex.set("cue.zone_needs_clock")
	lxZoneNeedsSuffix        = lex.set("cue.zone_needs_suffix")
	lxScheduleAdverbs        = lex.values("schedule.adverb.")
	lxSchedulePeriods        = lex.values("schedule.period.")
	lxClock                  = lex.values("clock.")
	lxWebhookWord            = lex.set("webhook.word")
	lxRelative               = lex.set("relative")
	lxArticle                = lex.set("article")
	lxConditionAfterAction   = lex.set("condition.after_action")
	lxVerbRelative           = lex.set("cue.verb_relative")
	lxVerbReceive            = lex.set("cue.verb_receive")
	lxChannelCreate          = lex.set("channel.create")
	lxConditionOpen          = lex.set("condition.open")
	lxConditionTest          = lex.set("condition.test")
	lxConditionNegative      = lex.set("condition.negative")
	lxLoopQuant              = lex.set("loop.quant")
	lxLoopOver               = lex.set("loop.over")
	lxLoopVerbOrNoun         = lex.set("loop.verb_or_noun")
	lxBulk                   = lex.set("bulk")
	lxPronounHook            = lex.set("pronoun.hook")
	lxPronounPossessive      = lex.set("pronoun.possessive")
	lxManualConsume          = lex.set("manual.consume")
	lxConditionStart         = lex.set("condition.start")
	lxConditionSubject       = lex.set("condition.subject")
	lxConditionCopula        = lex.set("condition.copula")
	lxSystemBefore           = lex.set("cue.system_before")
	lxChannelPreposition     = lex.set("cue.channel_preposition")
	lxBot                    = lex.set("cue.bot")
	lxRole                   = lex.set("cue.role")
	lxRecordPlace            = lex.set("cue.record_place")
	lxBotReply               = lex.set("cue.bot_reply")
	lxCueTrack               = lex.set("cue.track")
	lxPeriodicMessage        = lex.set("cue.periodic_message")
	lxToolList               = lex.set("cue.tool_list")
	lxToolListJoin           = lex.set("cue.tool_list_join")
	lxActionFrame            = lex.set("cue.action_frame")
	actionNouns              = lex.values("nominal.")
	lxObjectEnd              = lex.set("cue.object_end")
	lxSystemTitleSkip        = lex.set("cue.system_title_skip")
	lxElse                   = lex.set("else")
	lxManualConsumePhrase    = lex.set("manual.consume.phrase")
	lxFieldNoCopy            = lex.set("field.no_copy")
	lxFieldSources           = lex.byValue("field.source.")
	lxFieldCursorParam       = lex.set("field.cursor_param")
	lxAutoVerb               = lex.values("auto.")
	lxComparator             = lex.values("comparator.")
)

// longestEntry is the most words an entry of the groups named prefix* has.
func longestEntry(prefix string) int {
	n := 1
	for _, g := range lex.order {
		if strings.HasPrefix(g.Name, prefix) && g.Value != "" {
			for _, w := range g.Words {
				n = max(n, len(strings.Fields(w)))
			}
		}
	}
	return n
}

// suffixRule is one entry of a morph.* group: SUFFIX>REPLACEMENT[>MIN].
type suffixRule struct {
	suffix, replace string
	minStem         int
}

// suffixRules parses a morph.* group; a malformed entry fails loading.
func suffixRules(name string) []suffixRule {
	var out []suffixRule
	for _, e := range lex.list(name) {
		parts := strings.Split(e, ">")
		if len(parts) < 2 || len(parts) > 3 {
			panic(fmt.Sprintf("nl2flow: lexicon %s: entry %q is not SUFFIX>REPLACEMENT[>MIN]", name, e))
		}
		r := suffixRule{suffix: parts[0], replace: parts[1], minStem: 1}
		if len(parts) == 3 {
			n, err := strconv.Atoi(parts[2])
			if err != nil || n < 0 {
				panic(fmt.Sprintf("nl2flow: lexicon %s: entry %q: MIN must be a whole number", name, e))
			}
			r.minStem = n
		}
		out = append(out, r)
	}
	if len(out) == 0 {
		panic(fmt.Sprintf("nl2flow: lexicon has no %s rules", name))
	}
	return out
}

// applySuffix rewrites w by the first rule that matches (ok false: none).
func applySuffix(rules []suffixRule, w string) (string, bool) {
	for _, r := range rules {
		if stem, found := strings.CutSuffix(w, r.suffix); found && len(stem) >= r.minStem {
			return stem + r.replace, true
		}
	}
	return w, false
}

var (
	morphSingular    = suffixRules("morph.singular")
	morphPlural      = suffixRules("morph.plural")
	morphThirdPerson = suffixRules("morph.third_person")
	morphGerund      = lex.list("morph.gerund")
	morphNominal     = suffixRules("morph.nominal")
)

// hasSuffixIn: w ends with one of the suffixes.
func hasSuffixIn(w string, suffixes []string) bool {
	for _, x := range suffixes {
		if strings.HasSuffix(w, x) {
			return true
		}
	}
	return false
}

// numberScales maps a number's scale word ("k", "million") to its factor.
var numberScales = lex.values("number.scale.")

// alternation is a regexp alternation of a map's keys, longest first
// (so "million" wins over "m"), each quoted and, when it ends in a letter
// or digit, ending at a word boundary ("5pm", "5 p.m.").
func alternation(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		q := regexp.QuoteMeta(k)
		if last := k[len(k)-1]; last >= 'a' && last <= 'z' || last >= '0' && last <= '9' {
			q += `\b`
		}
		keys = append(keys, q)
	}
	sort.Slice(keys, func(i, j int) bool {
		if len(keys[i]) != len(keys[j]) {
			return len(keys[i]) > len(keys[j])
		}
		return keys[i] < keys[j]
	})
	return strings.Join(keys, "|")
}

// partOfDayHour is the hour a part of the day stands for when no time is
// given ("every morning" → 8); meridiem maps "pm", "p.m." … to am or pm.
var (
	partOfDayHour = lex.values("part_of_day.")
	lxPartOfDayPM = lex.set("cue.part_of_day_pm")
	meridiem      = lex.values("meridiem.")
)

package mapper

// The first matcher's word lists and hand-set numbers as data:
// vocab/words.json and vocab/params.json, embedded, versioned, a note per
// list and section, loaded once and validated. The concept groups,
// abbreviations and stop-words the names are read with are the builtin
// embedder's (ai/lexicon).

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/weftio/weft/ai"
)

//go:embed vocab/words.json
var wordsJSON []byte

//go:embed vocab/params.json
var paramsJSON []byte

type noteWords struct {
	Note  string   `json:"note"`
	Words []string `json:"words"`
}

type wordsFile struct {
	Version     string               `json:"version"`
	Source      string               `json:"source"`
	Lists       map[string]noteWords `json:"lists"`
	ClassLabels struct {
		Note string            `json:"note"`
		Map  map[string]string `json:"map"`
	} `json:"class_labels"`
}

// vocabulary is words.json, as sets.
type vocabulary struct {
	version string
	file    wordsFile

	modifier, generic, container, idKind, recordWord, party, strongKind, dateHead, personName, thingList map[string]bool
	thing                                                                                                map[string]bool // thingList's concepts
	classLabel                                                                                           map[string]string
}

// lists names each list of words.json and the set it fills.
func (v *vocabulary) lists() map[string]*map[string]bool {
	return map[string]*map[string]bool{"modifier": &v.modifier, "generic": &v.generic, "container": &v.container,
		"id_kind": &v.idKind, "record_word": &v.recordWord, "party": &v.party, "strong_kind": &v.strongKind,
		"date_head": &v.dateHead, "person_name": &v.personName, "thing": &v.thingList}
}

// parseVocabulary reads words.json: every list the code reads, each with a
// note and lower-case words (a list may be empty only in an ablation:
// without names lists left empty).
func parseVocabulary(data []byte, without ...string) (*vocabulary, error) {
	if len(data) > 1<<20 {
		return nil, fmt.Errorf("mapper words: %d bytes, more than 1 MiB", len(data))
	}
	v := &vocabulary{}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v.file); err != nil {
		return nil, fmt.Errorf("mapper words: %v", err)
	}
	f := &v.file
	if f.Version == "" || f.Source == "" {
		return nil, fmt.Errorf("mapper words: the file needs a version and a source")
	}
	v.version = f.Version
	drop := map[string]bool{}
	want := v.lists()
	for _, w := range without {
		if _, ok := want[w]; !ok {
			return nil, fmt.Errorf("mapper words: no list %q to leave out (one of %s)", w, strings.Join(sortedNames(want), ", "))
		}
		drop[w] = true
	}
	for name, set := range want {
		l, ok := f.Lists[name]
		if !ok {
			return nil, fmt.Errorf("mapper words: list %q missing", name)
		}
		if strings.TrimSpace(l.Note) == "" || len(l.Words) == 0 {
			return nil, fmt.Errorf("mapper words: list %q needs a note and words", name)
		}
		*set = map[string]bool{}
		for _, w := range l.Words {
			if w == "" || len(w) > 40 || strings.ToLower(w) != w || strings.ContainsAny(w, " \t\n") {
				return nil, fmt.Errorf("mapper words: list %q: %q is not a lower-case word of at most 40 bytes", name, w)
			}
			if !drop[name] {
				(*set)[w] = true
			}
		}
	}
	for name := range f.Lists {
		if _, ok := want[name]; !ok {
			return nil, fmt.Errorf("mapper words: list %q is read by no code", name)
		}
	}
	if strings.TrimSpace(f.ClassLabels.Note) == "" || len(f.ClassLabels.Map) == 0 {
		return nil, fmt.Errorf("mapper words: class_labels needs a note and labels")
	}
	v.classLabel = f.ClassLabels.Map
	v.thing = map[string]bool{}
	for w := range v.thingList {
		v.thing[ai.Concept(w)] = true
	}
	return v, nil
}

func sortedNames[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// params is params.json: every hand-set number of the first matcher, the
// composites, the review memory and the reasons.
type params struct {
	Version string `json:"version"`
	Source  string `json:"source"`
	Blend   struct {
		Note                                                          string
		Name, Path, Tok, Exact, Type, Ctx, Kind, Solo, Ref, Desc, Val float64
		ListClash                                                     float64 `json:"list_clash"`
		NoType                                                        float64 `json:"no_type"`
	} `json:"blend"`
	Rules struct {
		Note            string
		DescAsName      float64 `json:"desc_as_name"`
		DescNameWeight  float64 `json:"desc_name_weight"`
		DescVerbatim    float64 `json:"desc_verbatim"`
		DescVerbatimTok float64 `json:"desc_verbatim_tok"`
		EnumWordsName   float64 `json:"enum_words_name"`
		EnumWordsTok    float64 `json:"enum_words_tok"`
		BoolClash       float64 `json:"bool_clash"`
		TitledName      float64 `json:"titled_name"`
		TitledTok       float64 `json:"titled_tok"`
		RecordDateName  float64 `json:"record_date_name"`
		RecordDateTok   float64 `json:"record_date_tok"`
		FlagStateType   float64 `json:"flag_state_type"`
		FlagStateName   float64 `json:"flag_state_name"`
		FlagStateTok    float64 `json:"flag_state_tok"`
		HeadPenalty     float64 `json:"head_penalty"`
		KindClashType   float64 `json:"kind_clash_type"`
		EntityCode      float64 `json:"entity_code"`
		BareName        float64 `json:"bare_name"`
		BareTok         float64 `json:"bare_tok"`
		BarePath        float64 `json:"bare_path"`
	} `json:"rules"`
	Types struct {
		Note         string
		Unknown      float64 `json:"unknown"`
		DateFormats  float64 `json:"date_formats"`
		Formats      float64 `json:"formats"`
		Numbers      float64 `json:"numbers"`
		NumberString float64 `json:"number_string"`
		BoolString   float64 `json:"bool_string"`
		Other        float64 `json:"other"`
	} `json:"types"`
	Values struct {
		Note         string
		DateStyles   float64 `json:"date_styles"`
		SharedBase   float64 `json:"shared_base"`
		FormatShare  float64 `json:"format_share"`
		CSVTypeShare float64 `json:"csv_type_share"`
		KindShare    float64 `json:"kind_share"`
	} `json:"values"`
	Structure struct {
		Note             string
		Min, Agree, Gain float64
	} `json:"structure"`
	Suggest struct {
		Note            string
		FirstThreshold  float64 `json:"first_threshold"`
		FirstFloor      float64 `json:"first_floor"`
		CompositeKeep   float64 `json:"composite_keep"`
		CompositeFactor float64 `json:"composite_factor"`
		FullName        float64 `json:"full_name"`
		SplitName       float64 `json:"split_name"`
		EnumPrefix      float64 `json:"enum_prefix"`
	} `json:"suggest"`
	Memory struct {
		Note        string
		Accept      float64 `json:"accept"`
		Reject      float64 `json:"reject"`
		SimilarGain float64 `json:"similar_gain"`
		SimilarKeep float64 `json:"similar_keep"`
		AssocGain   float64 `json:"assoc_gain"`
		NearMin     float64 `json:"near_min"`
	} `json:"memory"`
	Reason struct {
		Note         string
		Synonyms     float64 `json:"synonyms"`
		SharedWords  float64 `json:"shared_words"`
		SimilarNames float64 `json:"similar_names"`
		SimilarPaths float64 `json:"similar_paths"`
		Descriptions float64 `json:"descriptions"`
		Values       float64 `json:"values"`
	} `json:"reason"`
}

// parseParams reads params.json: every number present (a section's keys
// are exactly its fields), in (0, 1], each section with a note.
func parseParams(data []byte) (*params, error) {
	if len(data) > 1<<20 {
		return nil, fmt.Errorf("mapper params: %d bytes, more than 1 MiB", len(data))
	}
	var p params
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("mapper params: %v", err)
	}
	if p.Version == "" || p.Source == "" {
		return nil, fmt.Errorf("mapper params: the file needs a version and a source")
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("mapper params: %v", err)
	}
	pv := reflect.ValueOf(&p).Elem()
	for i := 0; i < pv.NumField(); i++ {
		sec := pv.Type().Field(i)
		if sec.Type.Kind() != reflect.Struct {
			continue
		}
		name := jsonName(sec)
		var keys map[string]json.RawMessage
		if err := json.Unmarshal(raw[name], &keys); err != nil || keys == nil {
			return nil, fmt.Errorf("mapper params: section %q missing", name)
		}
		sv := pv.Field(i)
		for k := 0; k < sv.NumField(); k++ {
			fd := sv.Type().Field(k)
			key := jsonName(fd)
			if _, ok := keys[key]; !ok {
				return nil, fmt.Errorf("mapper params: %s.%s missing", name, key)
			}
			switch x := sv.Field(k); x.Kind() {
			case reflect.String:
				if strings.TrimSpace(x.String()) == "" {
					return nil, fmt.Errorf("mapper params: %s needs a note", name)
				}
			case reflect.Float64:
				if f := x.Float(); math.IsNaN(f) || f <= 0 || f > 1 {
					return nil, fmt.Errorf("mapper params: %s.%s is %v, not in (0, 1]", name, key, f)
				}
			}
		}
	}
	return &p, nil
}

// jsonName is a field's key: its json tag, else its name in lower case
// (encoding/json matches keys case-insensitively).
func jsonName(f reflect.StructField) string {
	if t, _, _ := strings.Cut(f.Tag.Get("json"), ","); t != "" {
		return t
	}
	return strings.ToLower(f.Name)
}

// The vocabulary is read on first use: reading it builds the builtin
// embedder's lexicon (ai.Concept), ~0.5 MB of live heap that a server
// which never suggests a mapping need not hold (BENCHMARKS.md §55).
var (
	loadVocabulary = sync.OnceValues(func() (*vocabulary, error) {
		vocLoaded.Store(true)
		return parseVocabulary(wordsJSON)
	})
	vocLoaded   atomic.Bool // whether words.json has been read (tests)
	vocOverride *vocabulary // set by WithoutWords
	par, parErr = parseParams(paramsJSON)
)

// emptyVocabulary stands in should the embedded file not load
// (TestVocabFiles keeps it valid): Suggest returns the error and the sets
// stay empty.
func emptyVocabulary() *vocabulary {
	v := &vocabulary{}
	for _, s := range v.lists() {
		*s = map[string]bool{}
	}
	v.thing, v.classLabel = map[string]bool{}, map[string]string{}
	return v
}

var emptyVoc = sync.OnceValue(emptyVocabulary)

// vocab is the vocabulary in force: words.json, or what WithoutWords left.
func vocab() *vocabulary {
	if v := vocOverride; v != nil {
		return v
	}
	if v, err := loadVocabulary(); err == nil {
		return v
	}
	return emptyVoc()
}

func init() {
	if parErr != nil {
		par = &params{}
	}
}

// dataErr is the error of the embedded data files, if any.
func dataErr() error {
	if _, err := loadVocabulary(); err != nil {
		return err
	}
	return parErr
}

// WithoutWords leaves lists of vocab/words.json out (their sets empty),
// for ablations in the evals; none restores them. Not safe while Suggest
// runs.
func WithoutWords(lists ...string) error {
	v, err := parseVocabulary(wordsJSON, lists...)
	if err != nil {
		return err
	}
	vocOverride = v
	return nil
}

// VocabVersion names the versions of the mapper's data files.
func VocabVersion() string { return vocab().version + "+" + par.Version }

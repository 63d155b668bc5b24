package main

import (
	"strings"
	"testing"
)

// keep_start_pages is off unless asked for; WEFT_KEEP_START_PAGES takes a
// boolean and refuses anything else by name.
func TestKeepStartPagesConfig(t *testing.T) {
	c, err := loadConfig("", nil)
	if err != nil || c.KeepStartPages {
		t.Fatalf("default: %v %v", c.KeepStartPages, err)
	}
	if c, err = loadConfig("", []string{"WEFT_KEEP_START_PAGES=true"}); err != nil || !c.KeepStartPages {
		t.Fatalf("true: %v %v", c.KeepStartPages, err)
	}
	if _, err = loadConfig("", []string{"WEFT_KEEP_START_PAGES=sometimes"}); err == nil || !strings.Contains(err.Error(), "WEFT_KEEP_START_PAGES") {
		t.Fatalf("a bad value: %v", err)
	}
}

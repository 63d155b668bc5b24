package nl2flow

import "testing"

// cursorQuality ranks a field as a poll cursor from its schema alone: a
// time format first, then numbers, then text the schema says is a date or
// time; free text never.
func TestCursorQuality(t *testing.T) {
	dt := cursorQuality("created_at", map[string]any{"type": "string", "format": "date-time"})
	num := cursorQuality("created", map[string]any{"type": "integer"})
	both := cursorQuality("CreationDate", map[string]any{"type": "string", "description": "date and time"})
	tod := cursorQuality("CreationTime", map[string]any{"type": "string", "description": "Time"})
	for name, q := range map[string]int{
		"free text":      cursorQuality("CreatedByUser", map[string]any{"type": "string", "title": "Created By"}),
		"uuid":           cursorQuality("created_id", map[string]any{"type": "string", "format": "uuid"}),
		"boolean":        cursorQuality("created", map[string]any{"type": "boolean"}),
		"no schema":      cursorQuality("created", nil),
		"object":         cursorQuality("created", map[string]any{"type": "object"}),
		"text, no words": cursorQuality("createdBy", map[string]any{"type": "string", "description": "who created it"}),
	} {
		if q != 0 {
			t.Errorf("%s: quality %d, want 0", name, q)
		}
	}
	if !(dt > num && num > both && both > tod && tod > 0) {
		t.Errorf("order: date-time %d, number %d, date and time text %d, time of day %d", dt, num, both, tod)
	}
	if q := cursorQuality("seq", map[string]any{"type": []any{"string", "integer"}, "format": "int64"}); q != num {
		t.Errorf("OData v2 Int64 (string or integer): %d, want %d", q, num)
	}
}

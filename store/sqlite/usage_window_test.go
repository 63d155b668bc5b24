package sqlite_test

import (
	"context"
	"testing"
	"time"

	"github.com/weftio/weft/store"
	"github.com/weftio/weft/store/sqlite"
)

// A window whose end falls in the first second of a minute still holds
// that minute's calls: the end is compared at the clock's precision, not
// truncated to the second (a report asked at 15:41:00.05 left out the
// calls of 15:41:00.01).
func TestAPIUsageWindowEndsInsideItsMinute(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir(), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	minute := time.Date(2026, 12, 3, 15, 41, 0, 0, time.UTC)
	if err := st.SaveAPIUsage(ctx, []store.APIUsage{{Minute: minute.Unix() / 60, Process: "p", Product: "shop", Version: "v1", Consumer: "acme", Calls: 3}}); err != nil {
		t.Fatal(err)
	}
	for _, until := range []time.Time{minute.Add(50 * time.Millisecond), minute.Add(time.Second), minute.Add(59 * time.Second)} {
		rows, err := st.SumAPIUsage(ctx, store.UsageQuery{Since: until.Add(-time.Hour), Until: until})
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 1 || rows[0].Calls != 3 {
			t.Fatalf("until %s: %+v, want the minute's 3 calls", until.Format(time.StampMilli), rows)
		}
	}
	// A window that ends exactly where the minute starts does not hold it.
	rows, err := st.SumAPIUsage(ctx, store.UsageQuery{Since: minute.Add(-time.Hour), Until: minute})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 0 {
		t.Fatalf("until the minute's start: %+v", rows)
	}
}

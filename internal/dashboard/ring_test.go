package dashboard

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"
)

func ringTexts(r *ring) []string {
	var out []string
	for _, m := range r.items() {
		out = append(out, string(m.data))
	}
	return out
}

func TestRingCount(t *testing.T) {
	r := newRing("event", 3, 1024)
	for i := 1; i <= 5; i++ {
		r.add([]byte(fmt.Sprint(i)))
	}
	if got := strings.Join(ringTexts(r), ","); got != "3,4,5" {
		t.Fatalf("kept %s, want the last 3", got)
	}
}

func TestRingBytes(t *testing.T) {
	r := newRing("log", 100, 10)
	r.add([]byte("aaaa"))
	r.add([]byte("bbbb"))
	r.add([]byte("cccc")) // does not fit after bbbb: wraps to the start, over aaaa
	if got := strings.Join(ringTexts(r), ","); got != "bbbb,cccc" {
		t.Fatalf("kept %s, want bbbb,cccc", got)
	}
	r.add([]byte("0123456789a")) // larger than the arena: not kept
	r.add([]byte("0123456789"))  // exactly the arena: alone
	if got := strings.Join(ringTexts(r), ","); got != "0123456789" {
		t.Fatalf("kept %s, want the arena-sized message alone", got)
	}
	items := r.items()
	items[0].data[0] = 'X' // a copy: the ring is untouched
	if got := ringTexts(r)[0]; got != "0123456789" {
		t.Fatalf("items shares the arena: %s", got)
	}
	if newRing("event", 0, 10).add([]byte("x")); len(newRing("event", 0, 10).items()) != 0 {
		t.Fatal("an empty ring kept something")
	}
}

// TestRingModel checks the ring against a plain slice of the last messages
// that fit: random sizes, many wraps.
func TestRingModel(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	const count, size = 7, 64
	r := newRing("event", count, size)
	var all []string
	for i := 0; i < 5000; i++ {
		m := strings.Repeat(string(rune('a'+i%26)), 1+rng.Intn(20))
		r.add([]byte(m))
		all = append(all, m)
		got := ringTexts(r)
		if len(got) == 0 || got[len(got)-1] != m {
			t.Fatalf("step %d: newest %q missing from %q", i, m, got)
		}
		want := all[len(all)-len(got):]
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("step %d: kept %q, want the last %d: %q", i, got, len(got), want)
		}
		total := 0
		for _, g := range got {
			total += len(g)
		}
		if len(got) > count || total > size {
			t.Fatalf("step %d: %d messages, %d bytes kept", i, len(got), total)
		}
		// Nothing that would still fit was dropped early: with the wrap's
		// waste, the kept bytes plus the next older one exceed half the arena
		// or the count is full.
		if len(got) < count && len(all) > len(got) && total+len(all[len(all)-len(got)-1]) <= size/2 {
			t.Fatalf("step %d: dropped %q with only %d bytes kept", i, all[len(all)-len(got)-1], total)
		}
	}
}

package tools

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
)

// TestReplace: a group's tools come and go as a whole; a name taken by a fixed tool or
// repeated, and a schema that does not compile, are left out and reported; a
// withdrawn name answers ErrUnavailable; changed says whether the declarations moved.
func TestReplace(t *testing.T) {
	s := NewSet(nil)
	run := func(context.Context, json.RawMessage) (any, error) { return "ok", nil }
	if err := s.Add(Tool{Name: "fixed", Run: run}); err != nil {
		t.Fatal(err)
	}
	changed, err := s.Replace("ha", []Tool{
		{Name: "a", Run: run}, {Name: "fixed", Run: run}, {Name: "a", Run: run},
		{Name: "bad", Run: run, Parameters: json.RawMessage(`{"type":"objekt"}`)}, {Name: "b", Run: run},
	})
	if !changed || err == nil {
		t.Fatalf("changed %v, err %v", changed, err)
	}
	for _, w := range []string{"fixed is already the name of a tool", "a is listed twice", "bad: the parameters are not a valid JSON Schema"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q lacks %q", err, w)
		}
	}
	if got := s.Names(); !slices.Equal(got, []string{"fixed", "a", "b"}) || s.Group("a") != "ha" || s.Group("fixed") != "" {
		t.Errorf("names %q", got)
	}
	if changed, err := s.Replace("ha", []Tool{{Name: "a", Run: run}, {Name: "b", Run: run}}); changed || err != nil {
		t.Errorf("the same list again: changed %v, err %v", changed, err)
	}
	if changed, _ := s.Replace("ha", nil); !changed || !slices.Equal(s.Names(), []string{"fixed"}) {
		t.Errorf("withdrawn: changed %v, names %q", changed, s.Names())
	}
	if _, err := s.RunTool(context.Background(), "a", "{}"); !errors.Is(err, ErrUnavailable) {
		t.Errorf("a withdrawn tool: %v", err)
	}
	if _, err := s.RunTool(context.Background(), "zzz", "{}"); !errors.Is(err, ErrUnknownTool) {
		t.Errorf("an unknown tool: %v", err)
	}
	if _, err := s.Replace("ha", []Tool{{Name: "a", Run: run}}); err != nil {
		t.Fatal(err)
	}
	if out, err := s.RunTool(context.Background(), "a", "{}"); err != nil || out != `"ok"` {
		t.Errorf("back: %q, %v", out, err)
	}
}

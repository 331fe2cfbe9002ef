package suggest

import "testing"

func TestClosest(t *testing.T) {
	names := []string{"exp", "scale", "greeting"}
	for _, tt := range []struct{ in, want string }{
		{"expo", "exp"},
		{"Scale", "scale"},
		{"greetng", "greeting"},
		{"x", ""},      // one byte: no edit is a slip
		{"colour", ""}, // too far from every name
	} {
		if got := Closest(tt.in, names); got != tt.want {
			t.Errorf("Closest(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestDistance(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"abc", "abc", 0}, {"kitten", "sitting", 3}, {"", "ab", 2},
	} {
		if got := Distance(tt.a, tt.b); got != tt.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

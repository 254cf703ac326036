package suite

import (
	"errors"
	"testing"
)

func TestParseShard(t *testing.T) {
	for _, tc := range []struct {
		s    string
		i, n int
		ok   bool
	}{
		{"", 1, 1, true},
		{"1/1", 1, 1, true},
		{"2/3", 2, 3, true},
		{"3/3", 3, 3, true},
		{"0/3", 0, 0, false},
		{"4/3", 0, 0, false},
		{"1/0", 0, 0, false},
		{"01/3", 0, 0, false},
		{"1/3x", 0, 0, false},
		{"1", 0, 0, false},
	} {
		t.Run(tc.s, func(t *testing.T) {
			i, n, err := ParseShard(tc.s)
			if i != tc.i || n != tc.n || (err == nil) != tc.ok {
				t.Errorf("ParseShard(%q) = %d, %d, %v; want %d, %d, ok %v", tc.s, i, n, err, tc.i, tc.n, tc.ok)
			}
			if err != nil && (!errors.As(err, new(FlagError)) || err.Error() != `-shard "`+tc.s+`": want i/n with 1 <= i <= n`) {
				t.Errorf("error %v: want a FlagError naming -shard", err)
			}
		})
	}
}

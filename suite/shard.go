package suite

import "fmt"

// ParseShard parses a -shard flag, "i/n" with 1 <= i <= n, into Options.Shard
// and Options.Shards; "" is 1/1, the whole grid. A bad value is a FlagError.
func ParseShard(s string) (i, n int, err error) {
	if s == "" {
		return 1, 1, nil
	}
	if _, err := fmt.Sscanf(s, "%d/%d", &i, &n); err != nil || n < 1 || i < 1 || i > n || fmt.Sprintf("%d/%d", i, n) != s {
		return 0, 0, FlagError{fmt.Errorf("-shard %q: want i/n with 1 <= i <= n", s)}
	}
	return i, n, nil
}

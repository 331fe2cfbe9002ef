package main

import (
	"bytes"
	"context"
	"testing"
)

// cluster up refuses flags that cannot make a member of a cluster of servers, with a line
// that says which flag to add or fix, before it starts anything.
func TestClusterUpReplicaFlags(t *testing.T) {
	routes := "nats://127.0.0.1:6301,nats://127.0.0.1:6302"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--replicas", "3"}, "mrun: --replicas 3 keeps copies on 3 servers: join this one to a cluster of at least as many with --cluster-listen HOST:PORT and --routes URLS\n"},
		{[]string{"--replicas", "6"}, "mrun: --replicas must be between 1 and 5, got 6\n"},
		{[]string{"--replicas", "0"}, "mrun: --replicas must be between 1 and 5, got 0\n"},
		{[]string{"--routes", routes}, "mrun: --routes joins a cluster of servers: pass --cluster-listen HOST:PORT too, where the others reach this one, as in 0.0.0.0:6222\n"},
		{[]string{"--cluster-listen", "127.0.0.1:6301"}, "mrun: --cluster-listen needs --routes: the route addresses of the cluster's servers, as in nats://10.0.0.5:6222,nats://10.0.0.6:6222,nats://10.0.0.7:6222\n"},
		{[]string{"--cluster-listen", "6301", "--routes", routes}, "mrun: --cluster-listen wants HOST:PORT, as in 0.0.0.0:6222; got \"6301\"\n"},
		{[]string{"--cluster-listen", "127.0.0.1:6301", "--routes", "10.0.0.6:6222"}, "mrun: cluster: route \"10.0.0.6:6222\": want a member's route address, as in nats://10.0.0.6:6222\n"},
	} {
		var out, errb bytes.Buffer
		code := run(context.Background(), append([]string{"cluster", "up", "--port", "-1"}, tc.args...), streams{Out: &out, Err: &errb})
		if code != 2 || errb.String() != tc.want || out.Len() != 0 {
			t.Errorf("cluster up %q: exit %d, stderr %q, stdout %q; want exit 2, stderr %q", tc.args, code, errb.String(), out.String(), tc.want)
		}
	}
}

//go:build race

package cluster_test

// raceSlowdown widens the time bounds of tests under the race detector.
const raceSlowdown = 1.6

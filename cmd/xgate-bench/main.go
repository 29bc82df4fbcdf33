package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "fake-slack":
			os.Exit(fakeSlackMain())
		case "fake-discord":
			os.Exit(fakeDiscordMain())
		case "echo":
			os.Exit(echoMain(os.Args[2:]))
		case "run":
			os.Exit(runMain(os.Args[2:], os.Stdout, os.Stderr))
		}
	}
	os.Exit(runMain(os.Args[1:], os.Stdout, os.Stderr))
}

// options are the flags of `xgate-bench run`.
type options struct {
	net       network
	src       string
	scenarios []scenario
	dirs      []string
	rates     []float64 // 0 means as fast as possible
	n         int
	runs      int
	jsonOut   string
	keep      string
	profile   string
	profileS  int
	timeout   time.Duration
	postRate  float64 // post_rate and post_burst of the [[slack]] table
	// nagleOff turns Nagle's algorithm off in Prosody, which has it on by
	// default (to show what it costs the latency of receive-only clients).
	nagleOff bool
	// xgateProcs and floorProcs, when above 0, are the GOMAXPROCS of xgate
	// (which then does not adapt its processors to the load) and of the
	// floor's echo components.
	xgateProcs, floorProcs int
}

// Directions, by network (see networks).
const (
	dirToXMPP        = "slack-to-xmpp"   // Slack → XMPP
	dirToSlack       = "xmpp-to-slack"   // XMPP → Slack
	dirDiscordToXMPP = "discord-to-xmpp" // Discord → XMPP
	dirToDiscord     = "xmpp-to-discord" // XMPP → Discord
)

// exitNoProsody is the exit code when prosody is not installed.
const exitNoProsody = 3

func runMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("xgate-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := options{}
	var netName, scen, dirs, rates string
	fs.StringVar(&netName, "network", "slack", "the `NETWORK` driven: slack or discord")
	fs.StringVar(&o.src, "src", ".", "a `DIR` inside the xgate module whose cmd/xgate is built and measured")
	fs.StringVar(&scen, "scenarios", "1u1c,1u8c,1k,10k,startup", "comma-separated `LIST` of scenarios: 1u1c, 1u8c, 1k, 10k, startup")
	fs.StringVar(&dirs, "dirs", "", "comma-separated `LIST` of directions (default both: "+dirToXMPP+","+dirToSlack+" for slack, "+dirDiscordToXMPP+","+dirToDiscord+" for discord)")
	fs.StringVar(&rates, "rates", "1000,max", "comma-separated `LIST` of send rates in messages per second, or max")
	fs.IntVar(&o.n, "n", 5000, "messages per measurement window")
	fs.IntVar(&o.runs, "runs", 3, "runs of each scenario (a fresh xgate each); figures are min/median")
	users := fs.Int("users", 0, "override the number of users of the 1k, 10k and startup scenarios (for quick tries)")
	mappings := fs.Int("mappings", -1, "override the contacts and message IDs seeded by the startup scenario (each)")
	fs.StringVar(&o.jsonOut, "json", "", "also write the report as JSON to `FILE` (\"-\": stdout instead of the table)")
	fs.StringVar(&o.keep, "keep", "", "keep the work directory (logs, configs, stores) in `DIR` instead of a removed temp dir")
	fs.StringVar(&o.profile, "cpuprofile", "", "write a CPU profile of xgate for each window of the first run, and a heap profile once it is idle, into `DIR`")
	fs.IntVar(&o.profileS, "profile-seconds", 0, "with -cpuprofile, the profile's length (default: the window's expected duration)")
	fs.DurationVar(&o.timeout, "timeout", 2*time.Hour, "give up after this long")
	fs.BoolVar(&o.nagleOff, "prosody-nagle-off", false, "turn Nagle's algorithm off in Prosody (network_settings = { nagle = false }); default: Prosody's stock setting, on")
	fs.IntVar(&o.xgateProcs, "xgate-gomaxprocs", 0, "run xgate with GOMAXPROCS=`N`, which turns off its [runtime] adaptive_procs (default: not set)")
	fs.IntVar(&o.floorProcs, "floor-gomaxprocs", 0, "run the floor's echo components with GOMAXPROCS=`N` (default: not set, the runtime's default)")
	fs.Float64Var(&o.postRate, "post-rate", 1_000_000, "xgate's post_rate and post_burst per Slack conversation: lifted by default, as the goals of #8 measure xgate with the network's limits lifted (above 1000 only for an xgate that accepts it)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	for name := range strings.SplitSeq(scen, ",") {
		s, ok := scenarioByName(strings.TrimSpace(name))
		if !ok {
			fmt.Fprintf(stderr, "xgate-bench: unknown scenario %q\n", name)
			return 2
		}
		if *users > 0 && s.Users > 1 {
			s.Users = *users
			s.Active = min(s.Active, s.Users)
		}
		if *mappings >= 0 && s.StartupOnly {
			s.Contacts, s.MessageRefs = *mappings, *mappings
		}
		o.scenarios = append(o.scenarios, s)
	}
	var ok bool
	if o.net, ok = networkByName(netName); !ok {
		fmt.Fprintf(stderr, "xgate-bench: unknown network %q\n", netName)
		return 2
	}
	var err error
	if o.dirs, err = o.net.parseDirections(dirs); err != nil {
		fmt.Fprintln(stderr, "xgate-bench:", err)
		return 2
	}
	for r := range strings.SplitSeq(rates, ",") {
		r = strings.TrimSpace(r)
		if r == "max" {
			o.rates = append(o.rates, 0)
			continue
		}
		v, err := strconv.ParseFloat(r, 64)
		if err != nil || v <= 0 {
			fmt.Fprintf(stderr, "xgate-bench: bad rate %q\n", r)
			return 2
		}
		o.rates = append(o.rates, v)
	}
	if o.n < 1 || o.runs < 1 {
		fmt.Fprintln(stderr, "xgate-bench: -n and -runs must be positive")
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	rep, err := runBench(ctx, o, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "xgate-bench:", err)
		if errors.Is(err, errNoProsody) {
			return exitNoProsody
		}
		return 1
	}
	if o.jsonOut != "" {
		out := stdout
		if o.jsonOut != "-" {
			f, err := os.Create(o.jsonOut)
			if err != nil {
				fmt.Fprintln(stderr, "xgate-bench:", err)
				return 1
			}
			defer f.Close()
			out = f
		}
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintln(stderr, "xgate-bench:", err)
			return 1
		}
		if o.jsonOut == "-" {
			return 0
		}
	}
	io.WriteString(stdout, rep.markdown())
	return 0
}

// newMachine describes this machine.
func newMachine() machine {
	return machine{CPUs: runtime.NumCPU(), Model: cpuModel(), Kernel: kernel(), GoVersion: runtime.Version(), Load1: load1()}
}

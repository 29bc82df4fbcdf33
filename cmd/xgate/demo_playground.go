package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/xgate-im/xgate/internal/playground"
)

// playgroundShutdown bounds how long open pages may hold the demo's exit.
const playgroundShutdown = 2 * time.Second

// demoPlayground serves the playground page of the demo's networks.
type demoPlayground struct {
	url  string
	srv  *http.Server
	done chan struct{}
	// stopTyping ends the Discord sessions that see typing; typingDone is
	// closed when they are closed.
	stopTyping context.CancelFunc
	typingDone chan struct{}
}

// startPlayground listens on addr, which must be a loopback address, and
// serves the page of the demo's networks: the workspace's people, the
// Discord people and Pat's phone (g and phones are nil when left out),
// each in their conversations with the demo user.
func startPlayground(addr string, ws *demoWorkspace, g *demoGuild, phones *demoPhones) (*demoPlayground, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil || !isLoopback(host) {
		return nil, fmt.Errorf("demo: -playground %q is not a loopback host:port", addr)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("demo: playground: %w", err)
	}
	var people, convs []string
	for _, p := range ws.people {
		people = append(people, p.user.ID)
		convs = append(convs, p.im)
	}
	networks := []playground.Network{playground.NewSlack(ws.fake, people, convs)}
	var discord *playground.Discord
	if g != nil {
		var dpeople, dms []string
		for _, p := range g.people {
			dpeople = append(dpeople, p.user.ID)
			dms = append(dms, p.dm)
		}
		discord = playground.NewDiscord(g.fake, dpeople, dms)
		networks = append(networks, discord)
	}
	if phones != nil {
		networks = append(networks, playground.NewSMS(phones.fake, playground.Phone{Number: demoPatNumber, Name: "Pat", Peers: []string{demoMyNumber}}))
	}
	page := playground.New(networks...)
	p := &demoPlayground{
		url:        "http://" + l.Addr().String() + "/",
		srv:        &http.Server{Handler: page, ReadHeaderTimeout: 10 * time.Second},
		done:       make(chan struct{}),
		typingDone: make(chan struct{}),
	}
	tctx, stopTyping := context.WithCancel(context.Background())
	p.stopTyping = stopTyping
	go func() {
		defer close(p.typingDone)
		if discord != nil {
			_ = discord.Run(tctx) // without it the page shows no typing; the demo goes on
		}
	}()
	go func() {
		defer close(p.done)
		if err := p.srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			_ = err // the listener failed; the page is gone, the demo goes on
		}
	}()
	return p, nil
}

// stop closes the page's connections (event streams included) and waits.
func (p *demoPlayground) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), playgroundShutdown)
	defer cancel()
	if p.srv.Shutdown(ctx) != nil {
		p.srv.Close()
	}
	<-p.done
	p.stopTyping()
	<-p.typingDone
}

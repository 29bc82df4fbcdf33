// Package archtest enforces the import rules of the house (STYLE.md, "The
// house") over every Go file of the module, tests included:
//
//   - xmpp and store import nothing of ours outside their own trees;
//   - a transport (transports/<name>/...) never imports xmpp, store or
//     another transport; its _test.go files may import xmpp and store (the
//     end-to-end tests run a real Prosody) but never another transport;
//   - kit/* imports nothing of ours except other kit packages and bridge;
//   - bridge imports xmpp, store and kit packages, never a transport, and
//     only kit packages that do not themselves import bridge;
//   - nothing imports cmd/... or internal/archtest.
//
// The rules are checked by TestModuleImports; Check is exported to the
// test only and reads files, it does not build them.
package archtest

// Package docs holds the READMEs to the code, in its tests: what a README
// tells a learner to run names a make target, a variable, a command, a
// flag, a part, a port and a route that exist; the traces it shows name
// spans and services the step has; its links lead somewhere; and each
// README stays short enough to read (the front door fits one screen).
package docs

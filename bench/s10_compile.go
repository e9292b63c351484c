package main

import (
	"context"
	"os"
	"path/filepath"
)

// compileHeavyDockerfile builds the notes web server as a Go service
// written without a build cache mount would: every edit compiles the
// standard library's packages it uses again, tens of seconds on 2 cores.
const compileHeavyDockerfile = `FROM golang:1.26 AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOPROXY=off
COPY . .
RUN go build -o /out/web .

FROM scratch
COPY --from=build /out/web /web
EXPOSE 8080
ENTRYPOINT ["/web"]
`

// compileTarget is the change scenario on the test cluster with that
// Dockerfile: whether devloop's build of an edit takes what the raw build
// of the same kind of edit takes, when the build is most of the wait.
var compileTarget = notesTarget{
	scenario: "compile", prefix: "compile-heavy: ", short: "notes-compile", minReps: 5,
	prepare: func(dir string) error {
		return os.WriteFile(filepath.Join(dir, "web", "Dockerfile"), []byte(compileHeavyDockerfile), 0o644)
	},
}

// compileScenario is the change to ready of a compile-heavy image beside
// the raw `docker buildx build --load` of the same kind of edit.
func (b *Bench) compileScenario(ctx context.Context) error {
	return b.notesOn(ctx, compileTarget, nil, nil)
}

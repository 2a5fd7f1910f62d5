package dockerenv

// JaegerImages maps the Jaeger Go module version that tools/go.mod pins (the
// Jaeger that native runs build) to the tag of the Docker image of the same
// release (the one docker-compose.yml runs). Jaeger v2 tags each release
// twice: Go module v1.X.0 is image 2.(X-63).0, so v1.63.0 was 2.0.0. Add a
// row, checked against Jaeger's release notes, when tools/go.mod moves; a
// module version that is not here fails the tests.
//
// v1.76.0 (2.13.0) is not in the table on purpose: it is not an approved
// release.
var JaegerImages = map[string]string{
	"v1.75.0": "2.12.0",
}

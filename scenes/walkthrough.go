package scenes

// Stages of the walkthrough, in the order the scenes reach them.
const (
	StageNone       Stage = iota // no lab
	StageHosts                   // five hosts on the wire
	StageFortune                 // the plaintext fortune service on fcs00:8181
	StageServers                 // three Consul servers, a leader
	StageAgents                  // client agents on fcs00 and fcc00
	StageSidecars                // the fortune service behind sidecars
	StageRebound                 // the service on loopback only
	StageIntentions              // deny by default, fcc -> fcs allowed
	StageRotated                 // a new CA root
	StageScaled                  // more fortune hosts, failures survived
)

// Host names of the seeds.
const (
	ServiceHost  = "fcs00"
	ConsumerHost = "fcc00"
	FortunePort  = 8181
)

// walkthrough is the order of the scenes: one row per scene, each made by
// the function in the file named after the scene's ID (scene "door" in
// door.go). Its narration is assets/scenes/ID.md and ID.notes.md.
var walkthrough = []func() Scene{
	sceneLab,        // 1
	sceneFortune,    // 2
	sceneMITM,       // 3
	sceneTampering,  // 4
	sceneServers,    // 5
	sceneAgents,     // 6
	sceneSidecars,   // 7
	sceneEncrypted,  // 8
	sceneDoor,       // 9
	sceneIntentions, // 10
	sceneRefused,    // 11
	sceneIdentity,   // 12
	sceneResilience, // 13
	sceneSummary,    // 14
}

// Walkthrough is the built-in walkthrough, without its narration (see
// LoadContent).
func Walkthrough() []Scene {
	s := make([]Scene, 0, len(walkthrough))
	for _, scene := range walkthrough {
		s = append(s, scene())
	}
	return s
}

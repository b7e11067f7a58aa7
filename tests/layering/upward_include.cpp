// Must not compile: core is the bottom layer and links no module above it, so the HTTP layer's
// header is not on its include path. The test "layering.UpwardIncludeFails" builds this on
// purpose and passes only when the compiler says the header is not found.
#include "core/model.h"
#include "net/http.h"

int le_layering_probe() { return 0; }

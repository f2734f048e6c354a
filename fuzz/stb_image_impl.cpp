// stb_image and stb_image_resize, compiled here from Debian's headers (libstb-dev, the source of
// the libstb the application links) so that the decoders are instrumented like the reader: the
// fuzzer steers by their coverage and AddressSanitizer sees their memory errors. Default options,
// as Debian builds libstb; as C++, since the top-level build (FW_BUILD_FUZZERS) enables no C.
#define STB_IMAGE_IMPLEMENTATION
#include <stb/stb_image.h>
#define STB_IMAGE_RESIZE_IMPLEMENTATION
#include <stb/stb_image_resize.h>

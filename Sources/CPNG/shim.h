#include <png.h>

// Swift does not import function-like or composite macros; these are the ones Images needs.
static inline int convnet_png_image_version(void) { return PNG_IMAGE_VERSION; }
static inline unsigned convnet_png_format_gray(void) { return PNG_FORMAT_GRAY; }
static inline unsigned convnet_png_format_rgb(void) { return PNG_FORMAT_RGB; }
static inline unsigned convnet_png_format_rgba(void) { return PNG_FORMAT_RGBA; }
static inline unsigned convnet_png_flag_16bit_srgb(void) { return PNG_IMAGE_FLAG_16BIT_sRGB; }

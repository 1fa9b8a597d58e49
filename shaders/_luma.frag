#version 330 core
// Internal (no contract header): one stage of the limiter's luminance reduction. Each output texel
// sums a u_block of input texels. The first stage reads an RGBA8 colour texture and sums its
// relative luminance as WCAG 2.x defines it (sRGB channels linearised by the table
// u_srgb_to_linear, Rec. 709 weights); later stages sum the previous R32F stage.
uniform sampler2D u_color;
uniform sampler2D u_luma_partial;
uniform bool u_first;
uniform ivec2 u_src_size;
uniform ivec2 u_block;
uniform float u_srgb_to_linear[256];

out float f_sum;

float relative_luminance(vec3 c) {
    ivec3 i = ivec3(c * 255.0 + 0.5);
    return 0.2126 * u_srgb_to_linear[i.r] + 0.7152 * u_srgb_to_linear[i.g]
         + 0.0722 * u_srgb_to_linear[i.b];
}

void main() {
    ivec2 base = ivec2(gl_FragCoord.xy) * u_block;
    ivec2 stop = min(base + u_block, u_src_size);
    float acc = 0.0;
    for (int y = base.y; y < stop.y; ++y) {
        for (int x = base.x; x < stop.x; ++x) {
            if (u_first) {
                acc += relative_luminance(texelFetch(u_color, ivec2(x, y), 0).rgb);
            } else {
                acc += texelFetch(u_luma_partial, ivec2(x, y), 0).r;
            }
        }
    }
    f_sum = acc;
}

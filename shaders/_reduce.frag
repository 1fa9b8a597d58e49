#version 330 core
// Internal (no contract header): one stage of the u_input_stats reduction. Each output texel sums
// a u_block of input texels: (sum of luma, pixel count). The first stage reads an RGBA8 colour
// texture and computes Pillow's 8-bit luma; later stages read the previous RG32UI stage.
uniform sampler2D u_color;
uniform usampler2D u_partial;
uniform bool u_first;
uniform ivec2 u_src_size;
uniform ivec2 u_block;

out uvec2 f_stats;

void main() {
    ivec2 base = ivec2(gl_FragCoord.xy) * u_block;
    ivec2 stop = min(base + u_block, u_src_size);
    uvec2 acc = uvec2(0u);
    for (int y = base.y; y < stop.y; ++y) {
        for (int x = base.x; x < stop.x; ++x) {
            if (u_first) {
                uvec3 c = uvec3(texelFetch(u_color, ivec2(x, y), 0).rgb * 255.0 + 0.5);
                acc += uvec2((c.r * 19595u + c.g * 38470u + c.b * 7471u + 0x8000u) >> 16u, 1u);
            } else {
                acc += texelFetch(u_partial, ivec2(x, y), 0).rg;
            }
        }
    }
    f_stats = acc;
}

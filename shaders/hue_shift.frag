// Hue shift: every colour's hue turns by u_strength * u_amp of a full turn (1/3: red -> green ->
// blue -> red); saturation and value stay. One texture tap.
vec3 rgb_to_hsv(vec3 c) {
    float hi = max(c.r, max(c.g, c.b));
    float d = hi - min(c.r, min(c.g, c.b));
    float h = 0.0;
    if (d > 0.0) {
        if (hi == c.r) {
            h = mod((c.g - c.b) / d, 6.0);
        } else if (hi == c.g) {
            h = (c.b - c.r) / d + 2.0;
        } else {
            h = (c.r - c.g) / d + 4.0;
        }
    }
    return vec3(h / 6.0, hi > 0.0 ? d / hi : 0.0, hi);
}

vec3 hsv_to_rgb(vec3 hsv) {
    vec3 k = clamp(abs(fract(hsv.x + vec3(1.0, 2.0 / 3.0, 1.0 / 3.0)) * 6.0 - 3.0) - 1.0, 0.0, 1.0);
    return hsv.z * mix(vec3(1.0), k, hsv.y);
}

void main() {
    vec3 hsv = rgb_to_hsv(texture(u_input, v_uv).rgb);
    hsv.x = fract(hsv.x + u_strength * u_amp);
    f_color = vec4(hsv_to_rgb(hsv), 1.0);
}

// Lucid Sonic Dreams' flash effect: brighten by dividing by (1 - amp * strength), clipped to 1.
// amp * strength >= 1 is full white.
void main() {
    vec3 img = texture(u_input, v_uv).rgb;
    float denom = 1.0 - u_amp * u_strength;
    vec3 color = denom <= 1e-6 ? vec3(1.0) : min(img / denom, vec3(1.0));
    f_color = vec4(color, 1.0);
}

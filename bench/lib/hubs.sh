# Sourced by the bench scripts: `write_hubs FILE ENDPOINT` writes a `tokengrid serve --config`
# file registering the built-in scenario's eight hub sites and tariffs
# (../shared/data/facts/hubs.csv), all served at ENDPOINT, without heartbeats.
write_hubs() {
  local file=$1 endpoint=$2 name lat lon tariff
  : > "$file"
  while read -r name lat lon tariff; do
    cat >> "$file" << HUB
[[hub]]
name = "$name"
endpoint = "$endpoint"
lat = $lat
lon = $lon
models = ["deepseek-v3"]
accelerators = { H800-SXM = 64 }
tariff_yuan_per_kwh = $tariff
pue = 1.2
heartbeats = false

HUB
  done << HUBS
beijing 39.9 116.4 0.634
shanghai 31.2 121.5 0.634
guangdong 23.1 113.3 0.634
chengdu 30.7 104.1 0.5
inner-mongolia 40.8 111.7 0.4
guizhou 26.6 106.6 0.4
gansu 35.7 107.6 0.4
ningxia 38.5 106.3 0.4
HUBS
}
